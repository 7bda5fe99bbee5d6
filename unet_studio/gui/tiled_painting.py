"""Painting on a big image: the core brush / polygon functions run on a small window read from the
ChunkedLabelBuffer (the dab's or polygon's bounding box), and the patch they return is moved to image
coordinates and applied to the buffer chunk by chunk. No step copies more than the edit's bounding box, so a
brush move on a 50,000 px image costs what it costs on a small one; undo keeps the same sparse patches.
"""

from __future__ import annotations

import numpy as np

from unet_studio.core.painting import disc_bbox, fill_polygon, paint_disc, stroke_centres
from unet_studio.core.undo_patch import BBox, Patch, clip_bbox, merge_patches


def shifted(patch: Patch | None, dy: int, dx: int) -> Patch | None:
    """The patch of a window at (dy, dx) in image coordinates."""
    if patch is None:
        return None
    y0, x0, y1, x1 = patch.bbox
    return Patch((y0 + dy, x0 + dx, y1 + dy, x1 + dx), patch.rows, patch.cols, patch.old_values, patch.new_values)


MAX_WINDOW_PIXELS = 8192 * 8192  # a polygon over a bigger box is refused (it would copy that much)


def polygon_box(points) -> BBox:
    """The bounding box of a polygon's pixels ((y, x) vertices in painting coordinates), with a margin."""
    ys, xs = [p[0] for p in points], [p[1] for p in points]
    return int(np.floor(min(ys))), int(np.floor(min(xs))), int(np.ceil(max(ys))) + 2, int(np.ceil(max(xs))) + 2


def polygon_fits(points) -> bool:
    """Whether a polygon's box is small enough to edit through one window."""
    y0, x0, y1, x1 = polygon_box(points)
    return (y1 - y0) * (x1 - x0) <= MAX_WINDOW_PIXELS


class WindowPainter:
    """Brush, eraser and polygon edits of a ChunkedLabelBuffer through windows of it."""

    def __init__(self, buffer):
        self.buffer = buffer

    def _edit(self, bbox: BBox, paint) -> Patch | None:
        """Run `paint(window, dy, dx) -> patch` on a copy of bbox; apply its changes to the buffer."""
        box = clip_bbox(bbox, self.buffer.shape)
        if box is None:
            return None
        y0, x0, y1, x1 = box
        window = self.buffer.read(y0, y1, x0, x1)
        patch = shifted(paint(window, y0, x0), y0, x0)
        if patch is not None:
            self.buffer.apply(patch, new=True)
        return patch

    def disc(self, centre: tuple[float, float], radius: float, value: int, only_unlabelled: bool) -> Patch | None:
        """paint_disc on the buffer (centre in painting coordinates of the image)."""
        return self._edit(disc_bbox(centre, max(radius, 0.5)), lambda window, dy, dx: paint_disc(
            window, (centre[0] - dy, centre[1] - dx), radius, value, only_unlabelled))

    def segment(self, p0, p1, radius: float, value: int, only_unlabelled: bool) -> Patch | None:
        """stroke_segment on the buffer: discs from p0 to p1 in one window (their union box)."""
        centres = list(stroke_centres(p0, p1, radius))
        boxes = np.array([disc_bbox(c, max(radius, 0.5)) for c in centres])
        bbox = (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()), int(boxes[:, 3].max()))
        return self._edit(bbox, lambda window, dy, dx: merge_patches(
            paint_disc(window, (cy - dy, cx - dx), radius, value, only_unlabelled) for cy, cx in centres))

    def polygon(self, points, value: int, only_unlabelled: bool) -> Patch | None:
        """fill_polygon on the buffer ((y, x) vertices in painting coordinates)."""
        if len(points) < 3 or not polygon_fits(points):
            return None
        return self._edit(polygon_box(points), lambda window, dy, dx: fill_polygon(
            window, [(y - dy, x - dx) for y, x in points], value, only_unlabelled))
