"""Undo commands for label edits: each holds sparse Patches (labels, object ids), never a copy of an array."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from unet_studio.core.undo_patch import Patch
from unet_studio.gui.instance_layer import InstanceLayer


class PaintCommand(QUndoCommand):
    """One finished edit (a stroke, a fill, a polygon) on one image plane: its labels patch and / or the
    patch of its object ids, undone and redone together.

    The edit is already on the arrays when the command is pushed, so the first `redo()` (which
    `QUndoStack.push` calls at once) does nothing.
    """

    def __init__(self, document, image_id: str, patch: Patch | None, text: str, ids: Patch | None = None,
                 plane: int = 0):
        super().__init__(f"{text} ({(patch or ids).n_pixels} px)")
        self._document = document
        self._image_id, self._plane = image_id, plane
        self._patch = patch
        self._ids = ids
        self._already_applied = True

    @property
    def patch(self) -> Patch | None:
        return self._patch

    @property
    def ids(self) -> Patch | None:
        """The object ids' part of the edit (None when it changed no object)."""
        return self._ids

    def redo(self) -> None:
        if self._already_applied:
            self._already_applied = False
            return
        self._document.apply_patch(self._image_id, self._patch, new=True, ids=self._ids, plane=self._plane)

    def undo(self) -> None:
        self._document.apply_patch(self._image_id, self._patch, new=False, ids=self._ids, plane=self._plane)


def apply_to_files(project, image_id: str, patch: Patch | None, ids: Patch | None, new: bool,
                   plane: int = 0) -> None:
    """Undo (new=False) or redo an edit of an image plane that is not shown, in its annotation and instance
    files."""
    labels = project.load_annotation(image_id, plane)
    if patch is not None:
        (patch.apply_new if new else patch.apply_old)(labels)
        project.save_annotation(image_id, labels, plane)
    if ids is not None:
        layer = InstanceLayer()
        layer.reset(project.load_instances(image_id, plane))
        layer.apply(ids, new, labels.shape)
        project.save_instances(image_id, layer.ids, plane)
