"""Reviewing a prediction: accept it into the annotation, or accept / reject single objects by clicking.

Every review edit is ONE undo step on the image's QUndoStack (ReviewCommand) holding sparse patches of the
annotation and, for rejections, of the stored prediction; the labels then autosave through the document.
Accepting sets the image's status to 'reviewed'. Rejecting an object removes it from the prediction and
labels its pixels background, so a fine-tune learns from the correction.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QUndoCommand
from skimage.segmentation import flood

from unet_studio.core.annotations import BACKGROUND
from unet_studio.core.errors import StudioError
from unet_studio.core.undo_patch import Patch

MODES = ("accept", "reject")


def patch_to(labels: np.ndarray, select: np.ndarray, new_values) -> Patch | None:
    """Patch writing `new_values` (scalar or per-pixel array of the image shape) where `select`, changed
    pixels only; `labels` itself is not modified."""
    target = np.broadcast_to(np.asarray(new_values, labels.dtype), labels.shape)
    changed = select & (labels != target)
    rows, cols = np.nonzero(changed)
    if rows.size == 0:
        return None
    y0, x0, y1, x1 = int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1
    return Patch((y0, x0, y1, x1), (rows - y0).astype(np.int32), (cols - x0).astype(np.int32),
                 labels[rows, cols].copy(), target[rows, cols].copy())


class ReviewCommand(QUndoCommand):
    """An annotation patch plus an optional prediction patch, applied and undone together."""

    def __init__(self, document, state, image_id: str, labels: Patch | None, prediction: Patch | None, text: str):
        super().__init__(text)
        self._document, self._state, self._image_id = document, state, image_id
        self._labels, self._prediction = labels, prediction

    def redo(self) -> None:
        self._apply(new=True)

    def undo(self) -> None:
        self._apply(new=False)

    def _apply(self, new: bool) -> None:
        if self._labels is not None:
            self._document.apply_patch(self._image_id, self._labels, new=new)
        if self._prediction is not None:
            self._state.apply_patch(self._image_id, self._prediction, new=new)


class ReviewController(QObject):
    """Review actions on the document's current image and its prediction (PredictionState)."""

    def __init__(self, document, state, parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.state = document, state
        self.mode = "accept"

    def set_mode(self, mode: str) -> None:
        """'accept' or 'reject': what a click on a predicted object does."""
        if mode not in MODES:
            raise ValueError(f"unknown review mode {mode!r}")
        self.mode = mode

    def _ready(self) -> bool:
        doc, state = self.document, self.state
        return doc.labels is not None and state.mask is not None and state.image_id == doc.image_id

    def accept_all(self) -> bool:
        """Copy the whole prediction into the annotation (mask k -> label k + 1) as one undo step."""
        if not self._ready():
            return False
        labels = self.document.labels
        patch = patch_to(labels, np.ones(labels.shape, bool), self.state.mask.astype(labels.dtype) + 1)
        return self._push(patch, None, "Accept prediction", accepted=True)

    def object_at(self, row: int, col: int) -> np.ndarray | None:
        """The connected predicted object (4-connected, one class) under a pixel, or None on background."""
        mask = self.state.mask
        if mask is None or not (0 <= row < mask.shape[0] and 0 <= col < mask.shape[1]) or mask[row, col] == 0:
            return None
        return flood(mask, (row, col), connectivity=1)

    def click(self, row: int, col: int) -> bool:
        """Accept or reject (by mode) the object under the pixel; False when there is none."""
        if not self._ready():
            return False
        region = self.object_at(row, col)
        if region is None:
            return False
        labels, value = self.document.labels, int(self.state.mask[row, col])
        if self.mode == "accept":
            return self._push(patch_to(labels, region, value + 1), None, "Accept object", accepted=True)
        label_patch = patch_to(labels, region, BACKGROUND)
        prediction_patch = patch_to(self.state.mask, region, 0)
        return self._push(label_patch, prediction_patch, "Reject object", accepted=False)

    def _push(self, labels: Patch | None, prediction: Patch | None, text: str, accepted: bool) -> bool:
        if labels is None and prediction is None:
            return False
        image_id = self.document.image_id
        stack = self.document.history(image_id)
        if stack is None:
            return False
        command = ReviewCommand(self.document, self.state, image_id, labels, prediction, text)
        stack.push(command)  # push() runs redo(): the patches are applied through the document
        if accepted:
            self._mark_reviewed(image_id)
        return True

    def _mark_reviewed(self, image_id: str) -> None:
        """Save the labels now (the document's path) and set the status to 'reviewed'."""
        if not self.document.save_now():
            return
        try:
            self.document.set_status(image_id, "reviewed")
        except StudioError as error:
            self.document.error_raised.emit(str(error))


class ReviewTool(QObject):
    """Canvas input handler for review mode (same interface as the painting ToolController)."""

    def __init__(self, controller: ReviewController, parent: QObject | None = None):
        super().__init__(parent)
        self.controller = controller

    def press(self, point: QPointF) -> None:
        self.controller.click(math.floor(point.y()), math.floor(point.x()))

    def move(self, point: QPointF, left_down: bool) -> None:
        """Review acts on clicks only."""

    def release(self, point: QPointF) -> None:
        """Review acts on clicks only."""

    def double_click(self, point: QPointF) -> None:
        """Review acts on clicks only."""

    def key(self, key: int) -> bool:
        """No keys in review mode: let the canvas handle them."""
        return False

    def finish(self) -> None:
        """Nothing is ever in progress between clicks."""
