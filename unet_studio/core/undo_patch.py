"""Undo patches: the pixels one edit changed, with their old and new values.

A patch stores a bounding box plus the changed pixels only (row/column indices relative to the box),
so its memory grows with the number of pixels an edit changed, never with the image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

BBox = tuple[int, int, int, int]
"""(y0, x0, y1, x1), half-open: rows y0..y1-1 and columns x0..x1-1."""


@dataclass(frozen=True, eq=False)
class Patch:
    """Changed pixels of a label array: `labels[y0 + rows, x0 + cols]` went from old_values to new_values."""

    bbox: BBox
    rows: np.ndarray
    cols: np.ndarray
    old_values: np.ndarray
    new_values: np.ndarray

    @property
    def n_pixels(self) -> int:
        """How many pixels the edit changed."""
        return int(self.rows.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the patch's arrays."""
        return sum(a.nbytes for a in (self.rows, self.cols, self.old_values, self.new_values))

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        y0, x0 = self.bbox[0], self.bbox[1]
        return self.rows.astype(np.intp) + y0, self.cols.astype(np.intp) + x0

    def apply_old(self, labels: np.ndarray) -> None:
        """Undo: write the old values back into `labels` (in place)."""
        labels[self._index()] = self.old_values

    def apply_new(self, labels: np.ndarray) -> None:
        """Redo: write the new values into `labels` (in place)."""
        labels[self._index()] = self.new_values


def bbox_slices(bbox: BBox) -> tuple[slice, slice]:
    """The numpy slices that cut `bbox` out of an array."""
    y0, x0, y1, x1 = bbox
    return slice(y0, y1), slice(x0, x1)


def clip_bbox(bbox: BBox, shape: tuple[int, ...]) -> BBox | None:
    """`bbox` clipped to an array of `shape` (H, W, ...); None when nothing is left."""
    y0, x0, y1, x1 = bbox
    y0, x0 = max(0, y0), max(0, x0)
    y1, x1 = min(shape[0], y1), min(shape[1], x1)
    if y0 >= y1 or x0 >= x1:
        return None
    return (y0, x0, y1, x1)


def patch_from_mask(labels: np.ndarray, bbox: BBox, select: np.ndarray, value: int) -> Patch | None:
    """Write `value` where `select` (a boolean array of the bbox's shape) is true; return the undo patch.

    Pixels that already hold `value` are left out, so the patch holds only real changes.
    """
    region = labels[bbox_slices(bbox)]
    select = select & (region != value)
    rows, cols = np.nonzero(select)
    if rows.size == 0:
        return None
    old = region[rows, cols]
    region[rows, cols] = value
    new = np.full(rows.size, value, dtype=labels.dtype)
    return Patch(bbox, rows.astype(np.int32), cols.astype(np.int32), old, new)


def merge_patches(patches: Iterable[Patch | None]) -> Patch | None:
    """One patch for a sequence of edits: union bbox, the first old value and the last new value win.

    Pixels whose final value equals their first old value are dropped. Cost grows with the number of
    changed pixels, not with the area of the union bounding box.
    """
    items = [p for p in patches if p is not None and p.n_pixels]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    y0 = min(p.bbox[0] for p in items)
    x0 = min(p.bbox[1] for p in items)
    y1 = max(p.bbox[2] for p in items)
    x1 = max(p.bbox[3] for p in items)
    width = x1 - x0
    keys = np.concatenate(
        [(p.rows.astype(np.int64) + p.bbox[0] - y0) * width + p.cols + p.bbox[1] - x0 for p in items]
    )
    olds = np.concatenate([p.old_values for p in items])
    news = np.concatenate([p.new_values for p in items])
    unique_keys, first = np.unique(keys, return_index=True)
    _, last_reversed = np.unique(keys[::-1], return_index=True)
    last = keys.size - 1 - last_reversed
    old, new = olds[first], news[last]
    changed = old != new
    if not changed.any():
        return None
    unique_keys = unique_keys[changed]
    rows, cols = np.divmod(unique_keys, width)
    return Patch((y0, x0, y1, x1), rows.astype(np.int32), cols.astype(np.int32), old[changed], new[changed])
