"""Undo commands for label edits: each holds one sparse Patch, never a copy of the label array."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from unet_studio.core.undo_patch import Patch


class PaintCommand(QUndoCommand):
    """One finished edit (a stroke, a fill, a polygon) on one image.

    The edit is already on the labels when the command is pushed, so the first `redo()` (which
    `QUndoStack.push` calls at once) does nothing.
    """

    def __init__(self, document, image_id: str, patch: Patch, text: str):
        super().__init__(f"{text} ({patch.n_pixels} px)")
        self._document = document
        self._image_id = image_id
        self._patch = patch
        self._already_applied = True

    @property
    def patch(self) -> Patch:
        return self._patch

    def redo(self) -> None:
        if self._already_applied:
            self._already_applied = False
            return
        self._document.apply_patch(self._image_id, self._patch, new=True)

    def undo(self) -> None:
        self._document.apply_patch(self._image_id, self._patch, new=False)
