"""The painting tools: turns canvas mouse and key input into edits of the document's label array.

A whole drag is one stroke: every mouse move paints a gap-free segment and refreshes only its bounding
box; on release the segment patches are merged into one undo step. Scene point (x, y) is the pixel
(row floor(y), column floor(x)); its centre is at (y - 0.5, x - 0.5) in painting coordinates.

The object brush paints the current class and, in the document's instance layer, an object id: each stroke
a new object (one more than the highest id yet), unless Ctrl/Alt+click picked an object to add to. The
class brush and eraser take the pixels whose class they change out of their objects, in the same undo step.
"""

from __future__ import annotations

import enum
import math

from PySide6.QtCore import QObject, QPointF, Qt, Signal

from unet_studio.core.annotations import BACKGROUND
from unet_studio.core.painting import (
    fill_polygon,
    flood_fill,
    label_at,
    object_at,
    object_stroke_segment,
    paint_disc,
    paint_object_disc,
    stroke_segment,
)
from unet_studio.core.undo_patch import Patch, merge_patches
from unet_studio.gui.instance_layer import edit_bbox
from unet_studio.gui.tiled_tools import big_move, big_polygon, big_press

MIN_BRUSH, MAX_BRUSH = 1, 400
LASSO_MIN_STEP = 1.0  # scene pixels between lasso points while dragging


class Tool(str, enum.Enum):
    """The tools of the tool bar; the value is the user-visible name."""

    BRUSH = "brush"
    OBJECT = "object"
    ERASER = "eraser"
    FILL = "fill"
    POLYGON = "polygon"
    PICKER = "picker"


def _centre(point: QPointF) -> tuple[float, float]:
    return point.y() - 0.5, point.x() - 0.5


def _pixel(point: QPointF) -> tuple[int, int]:
    return math.floor(point.y()), math.floor(point.x())


class ToolController(QObject):
    """Current tool, brush size, class and paint mode; edits the document on canvas input."""

    tool_changed = Signal(str)
    brush_size_changed = Signal(int)
    class_changed = Signal(int)
    preview_changed = Signal(list, bool)  # scene points, closed
    notice_raised = Signal(str)  # a one-line hint for the status bar (why a click did nothing)
    object_changed = Signal(int)  # the object brush's strokes add to this id; 0: each stroke a new object

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.tool = Tool.BRUSH
        self.brush_size = 10
        self.class_value = 2
        self.only_unlabelled = False
        self.fill_enclosed = True  # Fill leaves regions that reach the image edge alone
        self.object_id = 0  # the object strokes add to; 0: each stroke starts a new one
        self._stroke: list[tuple[Patch | None, Patch | None]] | None = None  # (labels, ids) per segment
        self._stroke_id = 0  # the object id the current object stroke paints
        self._last: tuple[float, float] | None = None
        self._polygon: list[QPointF] = []
        self._lasso_dragging = False
        document.image_about_to_change.connect(self.finish)
        document.image_about_to_change.connect(lambda: self._continue_object(0))

    # ----- settings
    def set_tool(self, tool: Tool | str) -> None:
        """Switch tool, finishing any stroke or polygon in progress; the object brush starts new objects."""
        self.finish()
        self.tool = Tool(tool)
        self._continue_object(0)
        self.tool_changed.emit(self.tool.value)

    def set_brush_size(self, size: int) -> None:
        """Brush diameter in image pixels, clamped to MIN_BRUSH..MAX_BRUSH."""
        size = int(min(max(size, MIN_BRUSH), MAX_BRUSH))
        if size != self.brush_size:
            self.brush_size = size
            self.brush_size_changed.emit(size)

    def grow_brush(self, steps: int) -> None:
        """`]` / `[`: change the brush size by about 10 % per step (at least one pixel)."""
        change = max(1, round(self.brush_size * 0.1))
        self.set_brush_size(self.brush_size + steps * change)

    def set_class_value(self, value: int) -> None:
        """The label value the brush, fill and polygon write (1 = background, 2.. = objects); values
        that are not a class of the open project are refused."""
        known = self.document.class_colours()
        if value >= 1 and value != self.class_value and (not known or value in known):
            self.class_value = int(value)
            self._continue_object(0)  # an object has one class
            self.class_changed.emit(self.class_value)

    @property
    def paint_value(self) -> int:
        return 0 if self.tool is Tool.ERASER else self.class_value

    # ----- canvas input (scene coordinates)
    def press(self, point: QPointF) -> None:
        labels = self.document.labels
        if labels is None and getattr(self.document, "big", None) is not None and self.tool is not Tool.POLYGON:
            big_press(self, point)
            return
        if labels is None and getattr(self.document, "big", None) is None:
            return
        if self.tool is Tool.OBJECT:
            self._start_object_stroke(labels, point)
        elif self.tool in (Tool.BRUSH, Tool.ERASER):
            self._last = _centre(point)
            patch = paint_disc(labels, self._last, self.brush_size / 2, self.paint_value, self.only_unlabelled)
            self._stroke = [self._with_ids_cleared(patch)]
            self._show(*self._stroke[-1])
        elif self.tool is Tool.FILL:
            self._fill(labels, _pixel(point))
        elif self.tool is Tool.PICKER:
            value = label_at(labels, _pixel(point))
            if value:
                self.set_class_value(value)
        elif self.tool is Tool.POLYGON:
            self._polygon.append(point)
            self._lasso_dragging = True
            self.preview_changed.emit(list(self._polygon), False)

    def move(self, point: QPointF, left_down: bool) -> None:
        if self._stroke is not None and left_down and self.document.labels is None:
            big_move(self, point)
        elif self._stroke is not None and left_down:
            here, radius, labels = _centre(point), self.brush_size / 2, self.document.labels
            if self.tool is Tool.OBJECT:
                self._stroke.append(object_stroke_segment(labels, self.document.instances.ids, self._last, here,
                                                          radius, self.class_value, self._stroke_id,
                                                          self.only_unlabelled))
            else:
                patch = stroke_segment(labels, self._last, here, radius, self.paint_value, self.only_unlabelled)
                self._stroke.append(self._with_ids_cleared(patch))
            self._last = here
            self._show(*self._stroke[-1])
        elif self.tool is Tool.POLYGON and self._polygon:
            if left_down and self._lasso_dragging:
                last = self._polygon[-1]
                if math.hypot(point.x() - last.x(), point.y() - last.y()) >= LASSO_MIN_STEP:
                    self._polygon.append(point)
                self.preview_changed.emit(list(self._polygon), False)
            else:
                self.preview_changed.emit(self._polygon + [point], False)

    def release(self, point: QPointF) -> None:
        self._lasso_dragging = False
        if self._stroke is not None:
            self._end_stroke()

    def pick(self, point: QPointF) -> None:
        """Ctrl/Alt+click. With the object brush: its strokes add to the object under the pointer (taking its
        class), or, on no object, start new objects again. Other tools take it as a plain press."""
        if self.tool is not Tool.OBJECT:
            self.press(point)
            return
        labels = self.document.labels
        if labels is None:
            return
        found = object_at(labels, self.document.instances.ids, _pixel(point))
        if found:
            self.set_class_value(label_at(labels, _pixel(point)))
            self.notice_raised.emit(f"Object brush: strokes add to object {found}; Ctrl+click outside objects "
                                    "or press M for new objects")
        else:
            self.notice_raised.emit("Object brush: each stroke starts a new object")
        self._continue_object(found)

    def double_click(self, point: QPointF) -> None:
        if self.tool is Tool.POLYGON:
            self.close_polygon()

    def key(self, key: int) -> bool:
        """Enter closes the polygon, Escape cancels it; True when the key was used."""
        if self.tool is Tool.POLYGON and self._polygon:
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.close_polygon()
                return True
            if key == Qt.Key.Key_Escape:
                self.cancel_polygon()
                return True
        return False

    # ----- edits
    def close_polygon(self) -> None:
        """Fill the polygon drawn so far with the current class (one undo step)."""
        points, self._polygon = self._polygon, []
        self._lasso_dragging = False
        self.preview_changed.emit([], False)
        labels = self.document.labels
        if labels is None and getattr(self.document, "big", None) is not None:
            big_polygon(self, points)
            return
        if labels is None or len(points) < 3:
            return
        patch = fill_polygon(labels, [_centre(p) for p in points], self.paint_value, self.only_unlabelled)
        self._show(patch)
        self.document.push_edit(patch, "Polygon")

    def _fill(self, labels, pixel: tuple[int, int]) -> None:
        patch = flood_fill(labels, pixel, self.paint_value, self.only_unlabelled, self.fill_enclosed)
        if patch is None and self.fill_enclosed and flood_fill(labels.copy(), pixel, self.paint_value,
                                                                self.only_unlabelled) is not None:
            self.notice_raised.emit("Fill: this area reaches the image edge; close its outline first, or turn "
                                    "off Tools > Fill only enclosed areas")
            return
        self._show(patch)
        self.document.push_edit(patch, "Fill")

    def cancel_polygon(self) -> None:
        self._polygon = []
        self._lasso_dragging = False
        self.preview_changed.emit([], False)

    def finish(self) -> None:
        """End whatever is in progress: a stroke is committed, a polygon dropped."""
        if self._stroke is not None:
            self._end_stroke()
        if self._polygon:
            self.cancel_polygon()

    def _end_stroke(self) -> None:
        stroke, self._stroke, self._last = self._stroke, None, None
        name = {Tool.ERASER: "Erase", Tool.OBJECT: f"Object {self._stroke_id}"}.get(self.tool, "Paint")
        self.document.push_edit(merge_patches(p for p, _ in stroke), name, merge_patches(i for _, i in stroke))

    def _start_object_stroke(self, labels, point: QPointF) -> None:
        if self.class_value <= BACKGROUND:
            self.notice_raised.emit("Object brush: choose an object class (2 and up); background is not an object")
            return
        layer = self.document.instances
        layer.ensure(labels.shape)
        self._stroke_id = self.object_id or layer.new_id()
        self._last = _centre(point)
        self._stroke = [paint_object_disc(labels, layer.ids, self._last, self.brush_size / 2, self.class_value,
                                          self._stroke_id, self.only_unlabelled)]
        self._show(*self._stroke[-1])

    def _with_ids_cleared(self, patch: Patch | None) -> tuple[Patch | None, Patch | None]:
        """A class edit's labels patch and the ids patch of the pixels it took out of their objects."""
        return patch, self.document.instances.clear_under(patch)

    def _continue_object(self, object_id: int) -> None:
        if object_id != self.object_id:
            self.object_id = object_id
            self.object_changed.emit(object_id)

    def _show(self, patch: Patch | None, ids: Patch | None = None) -> None:
        if patch is not None or ids is not None:
            self.document.labels_edited(edit_bbox(patch, ids))
