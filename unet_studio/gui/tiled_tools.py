"""The painting tools on a big image (the document's `big`): brush, eraser and picker presses and moves go
through its WindowPainter, so the ToolController's strokes, undo steps and autosave work as on small images.
Fill (it could flood the whole slide) and the object brush (no object layer for big images yet) say so.
The polygon is drawn by the ToolController as usual and filled here when it closes.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF

from unet_studio.gui.tiled_painting import polygon_fits


def painting_centre(point: QPointF) -> tuple[float, float]:
    """Scene point -> painting coordinates (pixel centres at integers), as tools._centre."""
    return point.y() - 0.5, point.x() - 0.5


def big_press(tools, point: QPointF) -> None:
    """A left press on a big image (the polygon tool is left to the ToolController)."""
    big = tools.document.big
    if tools.tool in ("brush", "eraser"):
        tools._last = painting_centre(point)
        patch = big.painter.disc(tools._last, tools.brush_size / 2, tools.paint_value, tools.only_unlabelled)
        tools._stroke = [(patch, None)]
        tools._show(patch)
    elif tools.tool == "picker":
        value = big.buffer.value_at(math.floor(point.y()), math.floor(point.x()))
        if value:
            tools.set_class_value(value)
    else:
        tools.notice_raised.emit(f"The {tools.tool.value} tool does not work on big images yet: use the brush, "
                                 "eraser or polygon")


def big_move(tools, point: QPointF) -> None:
    """A move with the button held during a brush / eraser stroke on a big image."""
    here = painting_centre(point)
    patch = tools.document.big.painter.segment(tools._last, here, tools.brush_size / 2, tools.paint_value,
                                               tools.only_unlabelled)
    tools._stroke.append((patch, None))
    tools._last = here
    tools._show(patch)


def big_polygon(tools, points: list[QPointF]) -> None:
    """Fill a closed polygon on a big image (one undo step); one too large for one window is refused."""
    vertices = [painting_centre(p) for p in points]
    if len(vertices) < 3:
        return
    if not polygon_fits(vertices):
        tools.notice_raised.emit("Polygon: too large to fill at once on a big image; draw smaller parts")
        return
    patch = tools.document.big.painter.polygon(vertices, tools.paint_value, tools.only_unlabelled)
    tools._show(patch)
    tools.document.push_edit(patch, "Polygon")
