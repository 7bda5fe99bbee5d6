"""The annotation document: the open project, the current image and its label array, history, autosave.

Panels never talk to each other; they read the document and listen to its signals. History: one
QUndoStack per image plane (image id, plane; plane 0 for single-plane images) in a QUndoGroup, kept while
the project is open, so each plane of a stack has its own undo. A stack's planes each have their own labels
(core.plane_labels); `labels` is the shown plane's. Stacks hold sparse patches
only; a non-current image's labels are not kept in memory (they were saved when it was left), so
memory grows with the pixels edited, not with the number of images. Autosave ~0.6 s after an edit copies
only the rectangle changed since the last save and hands it to the AnnotationWriter thread, which encodes
and writes atomically (annotation_writer.py); `save_now()` (image switch, close, quit, before training)
also waits until the file is on disk, so after a crash at most the last stroke is lost. The image's object
ids (`instances`, an InstanceLayer) load, save and undo with its labels: one undo step covers both.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack

from unet_studio.core.annotations import classes_present
from unet_studio.core.errors import StudioError
from unet_studio.core.images import ImageData, read_image
from unet_studio.core.undo_patch import Patch
from unet_studio.gui.annotation_writer import AnnotationWriter, ChangedRect
from unet_studio.gui.document_project import DocumentProject
from unet_studio.gui.instance_layer import InstanceLayer, edit_bbox
from unet_studio.gui.undo_commands import PaintCommand, apply_to_files

UNDO_LIMIT = 300
AUTOSAVE_DELAY_MS = 600


class AnnotationDocument(DocumentProject, QObject):
    """Holds the project, the current image plane + its labels and the per-plane undo history (the calls
    into the project: gui/document_project.py)."""

    project_changed = Signal()
    records_changed = Signal()
    image_about_to_change = Signal()
    image_changed = Signal(str)
    pixels_changed = Signal()
    annotation_changed = Signal(object)  # bbox (y0, x0, y1, x1) or None for the whole image
    classes_changed = Signal()
    dirty_changed = Signal(bool)
    error_raised = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.project = None
        self.image_id: str | None = None
        self.image: ImageData | None = None
        self.labels: np.ndarray | None = None
        self.instances = InstanceLayer()  # the current image's object ids
        self.unreadable: tuple[str, str] | None = None  # (image id, one-line reason) of the image that failed
        self.undo_group = QUndoGroup(self)
        self._stacks: dict[tuple[str, int], QUndoStack] = {}  # (image id, plane) -> its history
        self._dirty = False
        self._changed = ChangedRect()  # of the labels, not yet handed to the writer
        self._saves = 0  # number of the last save handed to the writer
        self._values: set[int] = set()  # label values the current labels may hold (see label_values)
        self.writer = AnnotationWriter(self)
        self.writer.written.connect(self._collect_writes)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave.timeout.connect(self.save_in_background)

    # ----- project
    def set_project(self, project) -> bool:
        """Make `project` the open one (None closes); saves and forgets the previous one's history."""
        if not self.close_image():
            return False
        for stack in self._stacks.values():
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        self._stacks.clear()
        self.project, self.unreadable = project, None
        self.project_changed.emit()
        self.records_changed.emit()
        self.classes_changed.emit()
        return True

    # ----- current image
    @property
    def plane(self) -> int:
        """The plane shown of the current image (0 for single-plane images and when none is shown)."""
        return self.image.plane if self.image is not None else 0

    def set_image(self, image_id: str, plane: int = 0) -> bool:
        """Show a plane of an image: flushes the current plane's labels first; False (and error_raised) on
        failure."""
        if self.record(image_id) is None:
            return False
        same_image = image_id == self.image_id and self.image is not None
        if same_image and plane == self.image.plane:
            return True
        try:
            image = read_image(self.project.image_path(image_id), plane=plane)
            labels = self.project.load_annotation(image_id, plane)
            ids = self.project.load_instances(image_id, plane)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            if not same_image:
                self._show_unreadable(image_id, str(exc))
            return False
        self.unreadable = None
        if not (self._leave_plane() if same_image else self.close_image()):
            return False
        self.image_id, self.image = image_id, image
        self._set_labels(labels, ids)
        self.undo_group.setActiveStack(self._stack(image_id, plane))
        self.pixels_changed.emit()
        self.image_changed.emit(image_id)
        self.annotation_changed.emit(None)
        self.dirty_changed.emit(self.is_dirty)
        return True

    def _leave_plane(self) -> bool:
        """Finish strokes and save the shown plane before another plane of the same image; False if saving
        failed (the plane stays)."""
        self.image_about_to_change.emit()
        return self.save_now()

    def _show_unreadable(self, image_id: str, reason: str) -> None:
        """The chosen image cannot be read: drop the current one (saved first) so the next stroke cannot go to
        it, and remember why for the canvas and the title. If saving fails the current image stays."""
        if self.close_image():
            self.unreadable = (image_id, reason)
            self.image_changed.emit("")

    def set_plane(self, plane: int) -> bool:
        """Show another plane of a stack, with its own labels and undo history."""
        return self.image_id is not None and self.set_image(self.image_id, plane)

    def step_plane(self, step: int) -> bool:
        """Show the plane `step` away from the shown one (kept within the stack); False at either end."""
        if self.image is None or not 0 <= self.image.plane + step < self.image.n_planes:
            return False
        return self.set_plane(self.image.plane + step)

    def close_image(self) -> bool:
        """Finish strokes, save and drop the current image; False if saving failed (image kept)."""
        if self.image_id is None:
            return True
        self.image_about_to_change.emit()
        if not self.save_now():
            return False
        self.writer.forget(self.image_id)
        self.image_id, self.image, self.labels = None, None, None
        self.instances.reset(None)
        self.undo_group.setActiveStack(None)
        self.image_changed.emit("")
        return True

    def history(self, image_id: str, plane: int = 0) -> QUndoStack | None:
        """The undo stack of an image's plane, if it has been edited or shown since the project opened."""
        return self._stacks.get((image_id, plane))

    def _stack(self, image_id: str, plane: int = 0) -> QUndoStack:
        key = (image_id, plane)
        if key not in self._stacks:
            stack = QUndoStack(self.undo_group)
            stack.setUndoLimit(UNDO_LIMIT)
            stack.cleanChanged.connect(self._emit_dirty)
            self._stacks[key] = stack
        return self._stacks[key]

    # ----- edits
    def labels_edited(self, bbox: tuple[int, int, int, int] | None) -> None:
        """Tools call this after changing labels in place (mid-stroke): repaint, mark unsaved."""
        self._note_changed(bbox)
        self.annotation_changed.emit(bbox)
        self._set_dirty(True)

    def push_edit(self, patch: Patch | None, text: str, ids: Patch | None = None) -> None:
        """Record a finished edit (already on the labels, and on the object ids if `ids`) as one undo step and
        schedule autosave. Without `ids`, the pixels whose class changed leave their objects."""
        if ids is None and (ids := self.instances.clear_under(patch)) is not None:
            self.annotation_changed.emit(ids.bbox)  # the outlines of the objects it cut go
        if self.image_id is None or (patch is None and ids is None):
            return
        self.instances.note_changed(None if ids is None else ids.bbox)
        self._note_changed(edit_bbox(patch, ids))
        self._stack(self.image_id, self.plane).push(PaintCommand(self, self.image_id, patch, text, ids, self.plane))
        self._set_dirty(True)
        self._autosave.start()

    def apply_patch(self, image_id: str, patch: Patch | None, new: bool, ids: Patch | None = None,
                    plane: int = 0) -> None:
        """Undo/redo one edit (labels patch, object ids patch) on an image's plane; one not shown is edited on
        disk."""
        if image_id == self.image_id and plane == self.plane and self.labels is not None:
            if patch is not None:
                (patch.apply_new if new else patch.apply_old)(self.labels)
            if ids is not None:
                self.instances.apply(ids, new, self.labels.shape)
            self.labels_edited(edit_bbox(patch, ids))
            self._autosave.start()
            return
        try:
            self.writer.flush()
            apply_to_files(self.project, image_id, patch, ids, new, plane)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
        self.records_changed.emit()

    # ----- saving
    @property
    def is_dirty(self) -> bool:
        """Unsaved label changes on the current image."""
        stack = self._stacks.get((self.image_id, self.plane)) if self.image_id else None
        return self._dirty or (stack is not None and not stack.isClean())

    def save_now(self) -> bool:
        """Save the current labels if they changed and wait until they are on disk; False (and
        error_raised) if writing failed."""
        self._autosave.stop()
        self.save_in_background()
        if not self.writer.flush():
            self.error_raised.emit(f"{self.image_id}: saving the annotation took over a minute")
            return False
        return self._collect_writes()

    def save_in_background(self) -> None:
        """Autosave: copy the rectangle changed since the last save and queue it for the writer thread."""
        self._autosave.stop()
        if self.image_id is None or self.labels is None or not self.is_dirty:
            return
        regions = self._changed.take(self.labels)
        for region in regions:
            self._values.update(classes_present(region.values))
        self._saves += 1
        self.writer.submit(self.image_id, regions, self._saves, self.instances.take_changes())
        self._dirty = False
        self._stack(self.image_id, self.plane).setClean()
        self._emit_dirty()

    def _collect_writes(self) -> bool:
        """Apply finished writes on this (the GUI) thread: record statuses, report failures; False if any failed."""
        ok, changed = True, False
        for result in self.writer.results():
            if result.error is not None:
                ok = False
                self.error_raised.emit(result.error)
                if result.image_id == self.image_id:
                    self._set_dirty(True)  # the writer's copy already has the edits: any save retries
                continue
            changed = self._record_status(result.image_id, result.status, result.labelled_planes) or changed
            if result.image_id == self.image_id and result.seq == self._saves:
                self._values = set(result.values)  # exact again: the writer scanned what it wrote
        if changed:
            self.records_changed.emit()
        return ok

    def _record_status(self, image_id: str, status: str, labelled_planes: int | None = None) -> bool:
        """The project's status of a saved image ('reviewed' stays while it is fully labelled) and, for a
        stack, how many of its planes hold labels."""
        if self.record(image_id) is None:
            return False
        try:
            return self.project.record_label_state(image_id, status, labelled_planes)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            return False

    def label_values(self) -> tuple[int, ...]:
        """The label values (> 0) in the current labels without scanning them all: those found when the image
        was shown or by the writer in the last save, plus those in the rectangles changed since. A value
        erased since the last save may still be listed until that save lands."""
        values = set(self._values)
        if self._changed.bbox is not None and self.labels is not None:
            y0, x0, y1, x1 = self._changed.bbox
            values.update(classes_present(self.labels[y0:y1, x0:x1]))
        return tuple(sorted(values))

    def _set_labels(self, labels: np.ndarray, ids: np.ndarray | None) -> None:
        """The current image's labels and object ids as on disk now; the writer gets its own copies."""
        self.labels, self._changed = labels, ChangedRect()
        self.instances.reset(ids)
        self._values = set(classes_present(labels))
        stem = self.project.folder / "annotations" / self.image_id
        ids, plane = self.instances.ids, self.plane
        self.writer.begin(self.image_id, stem, labels.copy(), self.project.instances_path(self.image_id, plane),
                          None if ids is None else ids.copy(), plane, self.image.n_planes)

    def _note_changed(self, bbox: tuple[int, int, int, int] | None) -> None:
        if self.labels is not None:
            self._changed.note(bbox, self.labels.shape)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self._emit_dirty()

    def _emit_dirty(self, *_args) -> None:
        self.dirty_changed.emit(self.is_dirty)
