"""The shown image's instance layer: which object each pixel belongs to (0 = none), beside its class labels.

Loaded with the image (`instances/<image id>.tif`, if the image has one), made on the first object stroke
otherwise, so images nobody paints objects on cost no memory. Kept as uint16 while every id fits (half the
memory of uint32 on an 8k image) and widened when an id needs it. New objects get one more than the
highest id used on the image since it was shown. The class labels stay the semantic truth: an id counts only
on a pixel whose class is an object class (what is saved and outlined).
"""

from __future__ import annotations

import numpy as np

from unet_studio.core.painting import clear_ids
from unet_studio.core.undo_patch import BBox, Patch
from unet_studio.gui.annotation_writer import ChangedRect, LabelRegion

U16_MAX = int(np.iinfo(np.uint16).max)


class InstanceLayer:
    """Object ids of the current image (None until it has any), the next new id, the rectangle to save."""

    def __init__(self):
        self.ids: np.ndarray | None = None
        self._next_id = 1
        self._changed = ChangedRect()

    def reset(self, ids: np.ndarray | None) -> None:
        """A new image's ids as on disk (None: no object yet)."""
        if ids is not None and ids.dtype != np.uint16 and int(ids.max(initial=0)) <= U16_MAX:
            ids = ids.astype(np.uint16)
        self.ids = ids
        self._next_id = 1 if ids is None else int(ids.max(initial=0)) + 1
        self._changed = ChangedRect()

    def ensure(self, shape: tuple[int, int]) -> np.ndarray:
        """The ids, made (all 0) on the first object painted."""
        if self.ids is None:
            self.ids = np.zeros(shape, np.uint16)
        return self.ids

    def new_id(self) -> int:
        """An id no object on this image has had since it was shown (the layer is widened if it needs it)."""
        value, self._next_id = self._next_id, self._next_id + 1
        if self.ids is not None and value > np.iinfo(self.ids.dtype).max:
            self.ids = self.ids.astype(np.uint32)
        return value

    def clear_under(self, changed: Patch | None) -> Patch | None:
        """A class edit changed these label pixels: they leave their objects (the ids' undo patch)."""
        return None if self.ids is None else clear_ids(self.ids, changed)

    def apply(self, patch: Patch, new: bool, shape: tuple[int, int]) -> None:
        """Undo (new=False) or redo an ids patch (the layer made, or widened, if it needs to be)."""
        ids = self.ensure(shape)
        if patch.new_values.dtype.itemsize > ids.dtype.itemsize:
            ids = self.ids = ids.astype(patch.new_values.dtype)
        (patch.apply_new if new else patch.apply_old)(ids)
        self.note_changed(patch.bbox)

    def note_changed(self, bbox: BBox | None) -> None:
        """The ids changed in bbox (None: nothing)."""
        if self.ids is not None and bbox is not None:
            self._changed.note(bbox, self.ids.shape)

    def take_changes(self) -> list[LabelRegion]:
        """The rectangle changed since the last save, copied for the writer thread ([] if none)."""
        return [] if self.ids is None else self._changed.take(self.ids)


def edit_bbox(labels: Patch | None, ids: Patch | None) -> BBox:
    """The rectangle one edit of the labels and / or the object ids touched."""
    boxes = [p.bbox for p in (labels, ids) if p is not None]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
