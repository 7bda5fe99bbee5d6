"""Brush, eraser, flood fill and polygon fill on numpy label arrays (no Qt).

Every edit works in place and returns the `Patch` that undoes it (None when nothing changed). Brush
edits touch only the brush's bounding box, so their cost depends on the brush area, not the image size.
Coordinates are (y, x) in pixel units, pixel (i, j) having its centre at (i, j).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from skimage.draw import polygon as polygon_pixels
from skimage.segmentation import flood

from unet_studio.core.annotations import UNLABELLED
from unet_studio.core.undo_patch import Patch, clip_bbox, merge_patches, patch_from_mask


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
    radius = max(float(radius), 0.5)
    bbox = clip_bbox(disc_bbox(center, radius), labels.shape)
    if bbox is None:
        return None
    y0, x0, y1, x1 = bbox
    yy = np.arange(y0, y1, dtype=np.float64)[:, None] - center[0]
    xx = np.arange(x0, x1, dtype=np.float64)[None, :] - center[1]
    disc = yy * yy + xx * xx <= radius * radius
    region = labels[y0:y1, x0:x1]
    return patch_from_mask(labels, bbox, disc & _editable(region, only_unlabelled, value), value)


def stroke_segment(
    labels: np.ndarray,
    p0: tuple[float, float],
    p1: tuple[float, float],
    radius: float,
    value: int,
    only_unlabelled: bool = False,
) -> Patch | None:
    """Paint discs from p0 to p1 (both included) at steps of about radius/2, so fast moves leave no gaps."""
    step = max(float(radius) / 2.0, 0.5)
    distance = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    n_steps = max(1, math.ceil(distance / step))
    patches = []
    for i in range(n_steps + 1):
        t = i / n_steps
        point = (p0[0] + t * (p1[0] - p0[0]), p0[1] + t * (p1[1] - p0[1]))
        patches.append(paint_disc(labels, point, radius, value, only_unlabelled))
    return merge_patches(patches)


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
