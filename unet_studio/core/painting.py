"""Brush, eraser, object brush, flood fill and polygon fill on numpy label arrays (no Qt).

Every edit works in place and returns the `Patch` that undoes it (None when nothing changed). Brush
edits touch only the brush's bounding box, so their cost depends on the brush area, not the image size.
Coordinates are (y, x) in pixel units, pixel (i, j) having its centre at (i, j).

The object brush paints two arrays at once: the class annotation (so semantic training still works) and
the instance layer of object ids (0 = no object). Any other edit that changes a pixel's class takes the
pixel out of its object (`clear_ids`), so an object always has one class.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
from skimage.draw import polygon as polygon_pixels
from skimage.segmentation import flood

from unet_studio.core.annotations import BACKGROUND, UNLABELLED
from unet_studio.core.undo_patch import BBox, Patch, bbox_slices, clip_bbox, merge_patches, patch_from_mask


def _editable(region: np.ndarray, only_unlabelled: bool, value: int) -> np.ndarray | bool:
    """Pixels a paint may change: all, or only unlabelled ones (erasing ignores the restriction)."""
    if only_unlabelled and value != UNLABELLED:
        return region == UNLABELLED
    return True


def disc_bbox(center: tuple[float, float], radius: float) -> tuple[int, int, int, int]:
    """The unclipped bounding box (y0, x0, y1, x1) of the pixels a disc may cover."""
    cy, cx = center
    return (
        math.ceil(cy - radius),
        math.ceil(cx - radius),
        math.floor(cy + radius) + 1,
        math.floor(cx + radius) + 1,
    )


def paint_disc(
    labels: np.ndarray,
    center: tuple[float, float],
    radius: float,
    value: int,
    only_unlabelled: bool = False,
) -> Patch | None:
    """Set every pixel whose centre lies within `radius` of `center` to `value`.

    A radius below 0.5 still paints the pixel under the centre, so a size-1 brush is one pixel.
    """
    found = _disc(labels.shape, center, radius)
    if found is None:
        return None
    bbox, disc = found
    region = labels[bbox_slices(bbox)]
    return patch_from_mask(labels, bbox, disc & _editable(region, only_unlabelled, value), value)


def _disc(shape: tuple[int, ...], center: tuple[float, float], radius: float) -> tuple[BBox, np.ndarray] | None:
    """The clipped bounding box of a disc and its pixels inside that box (None when off the array)."""
    radius = max(float(radius), 0.5)
    bbox = clip_bbox(disc_bbox(center, radius), shape)
    if bbox is None:
        return None
    y0, x0, y1, x1 = bbox
    yy = np.arange(y0, y1, dtype=np.float64)[:, None] - center[0]
    xx = np.arange(x0, x1, dtype=np.float64)[None, :] - center[1]
    return bbox, yy * yy + xx * xx <= radius * radius


def stroke_centres(p0: tuple[float, float], p1: tuple[float, float], radius: float) -> Iterator[tuple[float, float]]:
    """Disc centres from p0 to p1 (both included) at steps of about radius/2, so fast moves leave no gaps."""
    step = max(float(radius) / 2.0, 0.5)
    distance = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    n_steps = max(1, math.ceil(distance / step))
    for i in range(n_steps + 1):
        t = i / n_steps
        yield p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1])


def stroke_segment(
    labels: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    value: int,
    only_unlabelled: bool = False,
) -> Patch | None:
    """Paint discs from p0 to p1 (both included) at steps of about radius/2, so fast moves leave no gaps."""
    return merge_patches(paint_disc(labels, point, radius, value, only_unlabelled)
                         for point in stroke_centres(p0, p1, radius))


def paint_object_disc(
    labels: np.ndarray,
    ids: np.ndarray,
    center: tuple[float, float],
    radius: float,
    class_value: int,
    object_id: int,
    only_unlabelled: bool = False,
) -> tuple[Patch | None, Patch | None]:
    """The object brush's dab: the disc's pixels get `class_value` in `labels` and `object_id` in `ids`
    (taking them from any object they belonged to); returns the (labels, ids) undo patches."""
    found = _disc(labels.shape, center, radius)
    if found is None:
        return None, None
    bbox, disc = found
    select = disc & _editable(labels[bbox_slices(bbox)], only_unlabelled, class_value)
    return patch_from_mask(labels, bbox, select, class_value), patch_from_mask(ids, bbox, select, object_id)


def object_stroke_segment(
    labels: np.ndarray,
    ids: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    class_value: int,
    object_id: int,
    only_unlabelled: bool = False,
) -> tuple[Patch | None, Patch | None]:
    """`stroke_segment` for the object brush: both layers, gap-free from p0 to p1."""
    dabs = [paint_object_disc(labels, ids, point, radius, class_value, object_id, only_unlabelled)
            for point in stroke_centres(p0, p1, radius)]
    return merge_patches(d[0] for d in dabs), merge_patches(d[1] for d in dabs)


def clear_ids(ids: np.ndarray, changed: Patch | None) -> Patch | None:
    """Take the pixels a class edit changed (`changed`, a patch of the labels) out of their objects: their
    ids become 0 (in place); returns the ids' undo patch. Cost grows with the changed pixels only."""
    if changed is None or not changed.n_pixels:
        return None
    y0, x0 = changed.bbox[0], changed.bbox[1]
    rows, cols = changed.rows.astype(np.intp) + y0, changed.cols.astype(np.intp) + x0
    old = ids[rows, cols]
    held = old != 0
    if not held.any():
        return None
    ids[rows[held], cols[held]] = 0
    return Patch(changed.bbox, changed.rows[held], changed.cols[held], old[held], np.zeros(int(held.sum()), ids.dtype))


def flood_fill(
    labels: np.ndarray, seed: tuple[int, int], value: int, only_unlabelled: bool = False,
    enclosed_only: bool = False,
) -> Patch | None:
    """Set the 4-connected region of equal label under `seed` to `value`.

    With `enclosed_only` a region that reaches the image edge is left alone (None): a click inside a painted
    outline fills the inside, and a click outside it cannot flood the whole unlabelled image.
    """
    y, x = int(seed[0]), int(seed[1])
    if not (0 <= y < labels.shape[0] and 0 <= x < labels.shape[1]):
        return None
    if labels[y, x] == value or (only_unlabelled and value != UNLABELLED and labels[y, x] != UNLABELLED):
        return None
    region = flood(labels, (y, x), connectivity=1)
    rows, cols = np.nonzero(region)
    bbox = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
    if enclosed_only and (bbox[0] == 0 or bbox[1] == 0 or bbox[2] == labels.shape[0] or bbox[3] == labels.shape[1]):
        return None
    return patch_from_mask(labels, bbox, region[bbox[0] : bbox[2], bbox[1] : bbox[3]], value)


def fill_polygon(
    labels: np.ndarray,
    points: Sequence[tuple[float, float]],
    value: int,
    only_unlabelled: bool = False,
) -> Patch | None:
    """Fill the polygon through `points` ((y, x) vertices; closed automatically) with `value`."""
    if len(points) < 3:
        return None
    vertices = np.asarray(points, dtype=np.float64)
    rr, cc = polygon_pixels(vertices[:, 0], vertices[:, 1], shape=labels.shape[:2])
    if rr.size == 0:
        return None
    bbox = (int(rr.min()), int(cc.min()), int(rr.max()) + 1, int(cc.max()) + 1)
    select = np.zeros((bbox[2] - bbox[0], bbox[3] - bbox[1]), dtype=bool)
    select[rr - bbox[0], cc - bbox[1]] = True
    region = labels[bbox[0] : bbox[2], bbox[1] : bbox[3]]
    return patch_from_mask(labels, bbox, select & _editable(region, only_unlabelled, value), value)


def label_at(labels: np.ndarray, point: tuple[int, int]) -> int | None:
    """The label value at (y, x), or None outside the array (the class picker)."""
    y, x = int(point[0]), int(point[1])
    if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1]:
        return int(labels[y, x])
    return None


def object_at(labels: np.ndarray, ids: np.ndarray | None, point: tuple[int, int]) -> int:
    """The object id at (y, x), or 0 where there is none (outside, no layer, or not an object class)."""
    y, x = int(point[0]), int(point[1])
    if ids is None or not (0 <= y < labels.shape[0] and 0 <= x < labels.shape[1]) or labels[y, x] <= BACKGROUND:
        return 0
    return int(ids[y, x])
