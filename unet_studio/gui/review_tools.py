"""Reviewing a prediction: accept it into the annotation, or accept / reject single objects by clicking.

Accepting fills only pixels the user has not labelled: painted pixels win, by the same merge rule as label
import (io.annotation_import.merge); "replace labels with prediction" is a separate, explicit command.
Every review edit is ONE undo step on the image's QUndoStack (ReviewCommand) holding sparse patches of the
annotation and, for rejections, of the stored prediction, plus the image's status before and after, so
undo and redo give back exactly the status the image had. Accepting sets the status to 'reviewed'.
Rejecting an object removes it from the prediction and labels its pixels background, so a fine-tune learns
from the correction.
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
from unet_studio.io.annotation_import import merge

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
    """An annotation patch plus an optional prediction patch, applied and undone together, with the image
    status: undo restores the status from before the edit, redo the one after it.

    Build it after the document's labels are saved, so the status before is the labels' real one.
    `status_after` None keeps the status that saving the edited labels gives. Saving and setting the status
    happen in `settle()`, once the stack's index has moved (the ReviewController calls it): saving inside
    redo()/undo() would mark the wrong index clean and leave the title showing unsaved changes.
    """

    def __init__(self, document, state, image_id: str, labels: Patch | None, prediction: Patch | None, text: str,
                 status_after: str | None = None):
        super().__init__(text)
        self._document, self._state, self._image_id = document, state, image_id
        self._plane = document.plane  # a review edits the plane shown
        self._labels, self._prediction = labels, prediction
        self._status_before = document.project.image(image_id).status
        self._status_after = status_after
        self._unsettled: str | None = None  # "redo" or "undo" until settle() ran

    def redo(self) -> None:
        self._apply(new=True)
        self._unsettled = "redo"

    def undo(self) -> None:
        self._apply(new=False)
        self._unsettled = "undo"

    def settle(self) -> None:
        """Save the labels now and set the status the last redo / undo calls for (nothing if settled)."""
        if self._unsettled == "redo":
            self._status_after = self._save_with_status(self._status_after)
        elif self._unsettled == "undo":
            self._save_with_status(self._status_before)
        self._unsettled = None

    def _apply(self, new: bool) -> None:
        if self._labels is not None:
            self._document.apply_patch(self._image_id, self._labels, new=new, plane=self._plane)
        if self._prediction is not None:
            self._state.apply_patch(self._image_id, self._prediction, new=new, plane=self._plane)

    def _save_with_status(self, status: str | None) -> str | None:
        """Save the labels, then set `status` (None: keep what saving gave); returns the status set."""
        doc = self._document
        if self._image_id == doc.image_id and not doc.save_now():
            return status
        try:
            if status is not None:
                doc.set_status(self._image_id, status)  # the document says records_changed
            return doc.project.image(self._image_id).status
        except StudioError as error:
            doc.error_raised.emit(str(error))
            return status


class ReviewController(QObject):
    """Review actions on the document's current image and its prediction (PredictionState)."""

    notice = Signal(str)  # one line for the user about the last review edit

    def __init__(self, document, state, parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.state = document, state
        self.mode = "accept"
        document.undo_group.indexChanged.connect(self._on_undo_group_index_changed)

    def set_mode(self, mode: str) -> None:
        """'accept' or 'reject': what a click on a predicted object does."""
        if mode not in MODES:
            raise ValueError(f"unknown review mode {mode!r}")
        self.mode = mode

    def _ready(self) -> bool:
        doc, state = self.document, self.state
        return doc.labels is not None and state.mask is not None and state.shows(doc.image_id, doc.plane)

    def _accepted(self, select: np.ndarray) -> Patch | None:
        """The prediction (mask k -> label k + 1) written into the unlabelled pixels of `select`."""
        labels = self.document.labels
        return patch_to(labels, select, merge(self.state.mask.astype(labels.dtype) + 1, labels))

    def accept_all(self) -> bool:
        """Fill every unlabelled pixel from the prediction as one undo step; painted pixels are kept."""
        if not self._ready():
            return False
        labels = self.document.labels
        kept = int(np.count_nonzero(labels))
        patch = self._accepted(np.ones(labels.shape, bool))
        if patch is None:
            self.notice.emit("Nothing to accept: every pixel is labelled already (Replace labels with "
                             "prediction overwrites them)")
            return False
        if not self._push(patch, None, "Accept prediction", accepted=True):
            return False
        text = f"Accepted the prediction on {patch.n_pixels:,} unlabelled pixels"
        self.notice.emit(text + (f"; kept {kept:,} labelled pixels" if kept else ""))
        return True

    def replace_all(self) -> bool:
        """Make the annotation the prediction alone, painted pixels included, as one undo step."""
        if not self._ready():
            return False
        labels = self.document.labels
        patch = patch_to(labels, np.ones(labels.shape, bool), self.state.mask.astype(labels.dtype) + 1)
        if not self._push(patch, None, "Replace labels with prediction", accepted=True):
            return False
        self.notice.emit(f"Replaced {patch.n_pixels:,} pixels with the prediction (Undo brings them back)")
        return True

    def _on_undo_group_index_changed(self, index: int) -> None:
        """A step was pushed, undone or redone: settle the review command it applied, if it was one."""
        stack = self.document.undo_group.activeStack()
        for i in (index - 1, index):  # the command just redone (pushed) or just undone
            command = stack.command(i) if stack is not None and 0 <= i < stack.count() else None
            if isinstance(command, ReviewCommand):
                command.settle()

    def object_at(self, row: int, col: int) -> np.ndarray | None:
        """The connected predicted object (4-connected, one class) under a pixel, or None on background."""
        mask = self.state.mask
        if mask is None or not (0 <= row < mask.shape[0] and 0 <= col < mask.shape[1]) or mask[row, col] == 0:
            return None
        return flood(mask, (row, col), connectivity=1)

    def click(self, row: int, col: int) -> bool:
        """Accept (into its unlabelled pixels) or reject (by mode) the object under the pixel; False when
        there is none or nothing would change."""
        if not self._ready():
            return False
        region = self.object_at(row, col)
        if region is None:
            return False
        if self.mode == "accept":
            return self._push(self._accepted(region), None, "Accept object", accepted=True)
        label_patch = patch_to(self.document.labels, region, BACKGROUND)
        prediction_patch = patch_to(self.state.mask, region, 0)
        return self._push(label_patch, prediction_patch, "Reject object", accepted=False)

    def _push(self, labels: Patch | None, prediction: Patch | None, text: str, accepted: bool) -> bool:
        if labels is None and prediction is None:
            return False
        image_id = self.document.image_id
        stack = self.document.history(image_id, self.document.plane)
        if stack is None or not self.document.save_now():  # saved first: the command records the real status
            return False
        command = ReviewCommand(self.document, self.state, image_id, labels, prediction, text,
                                "reviewed" if accepted else None)
        stack.push(command)  # push() runs redo(): the patches are applied
        command.settle()  # done already if the stack is the group's active one
        return True


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
