"""The annotation document: the open project, the current image and its label array, history, autosave.

Panels never talk to each other; they read the document and listen to its signals. History: one
QUndoStack per image in a QUndoGroup, kept while the project is open. Stacks hold sparse patches
only; a non-current image's labels are not kept in memory (they were saved when it was left), so
memory grows with the pixels edited, not with the number of images. Autosave ~0.6 s after an edit copies
only the rectangle changed since the last save and hands it to the AnnotationWriter thread, which encodes
and writes atomically (annotation_writer.py); `save_now()` (image switch, close, quit, before training)
also waits until the file is on disk, so after a crash at most the last stroke is lost. The image's object
ids (`instances`, an InstanceLayer) load, save and undo with its labels: one undo step covers both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack

from unet_studio.core.annotations import classes_present
from unet_studio.core.colors import parse_color
from unet_studio.core.errors import StudioError
from unet_studio.core.images import ImageData, read_image
from unet_studio.core.undo_patch import Patch
from unet_studio.gui.annotation_writer import AnnotationWriter, ChangedRect
from unet_studio.gui.instance_layer import InstanceLayer, edit_bbox
from unet_studio.gui.undo_commands import PaintCommand, apply_to_files
from unet_studio.io.annotation_import import import_annotations

UNDO_LIMIT = 300
AUTOSAVE_DELAY_MS = 600


class AnnotationDocument(QObject):
    """Holds the project, the current image + labels and the per-image undo history."""

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
        self._stacks: dict[str, QUndoStack] = {}
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

    @property
    def records(self) -> list:
        return list(self.project.images) if self.project is not None else []

    def record(self, image_id: str | None):
        """The ImageRecord with this id, or None."""
        return next((r for r in self.records if r.id == image_id), None)

    def class_colours(self) -> dict[int, tuple[int, int, int]]:
        return {int(c.value): parse_color(c.color) for c in self.project.classes} if self.project is not None else {}

    def class_name(self, value: int) -> str:
        if value == 0:
            return "unlabelled"
        names = {int(c.value): c.name for c in self.project.classes} if self.project is not None else {}
        return names.get(int(value), f"class {value}")

    def image_path(self, image_id: str):
        """Absolute path of an image's original file."""
        return self.project.image_path(image_id)

    def _project_call(self, method, *args, **kwargs):
        """Call a bound Project method; a StudioError becomes error_raised (None returned)."""
        try:
            return method(*args, **kwargs)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            return None

    def add_images(self, paths) -> None:
        """Reference more images (unreadable ones are listed too, with their reason)."""
        self._project_call(self.project.add_images, paths)
        self.records_changed.emit()

    def set_split(self, image_id: str, split: str) -> None:
        self._project_call(self.project.set_split, image_id, split)
        self.records_changed.emit()

    def auto_split(self, val_fraction: float) -> None:
        self._project_call(self.project.auto_split, val_fraction)
        self.records_changed.emit()

    def set_status(self, image_id: str, status: str) -> None:
        """Set an image's status ('reviewed' after review...), then records_changed; a StudioError reaches
        the caller, which says where it shows it."""
        self.project.set_status(image_id, status)
        self.records_changed.emit()

    def save_prediction(self, image_id: str, mask) -> None:
        """Store a predicted mask (an unlabelled image becomes 'predicted'), then records_changed; a
        StudioError reaches the caller."""
        self.project.save_prediction(image_id, mask)
        self.records_changed.emit()

    def register_model(self, checkpoint_path, name: str, activate: bool) -> Path:
        """Record a finished checkpoint in the project (made active if `activate`), then records_changed;
        returns the model's path in the project. A StudioError reaches the caller."""
        from unet_studio.training.api import register_model  # torch: only once a model exists

        path = register_model(self.project, checkpoint_path, name, activate=activate)
        self.records_changed.emit()
        return path

    def update_settings(self, **values) -> None:
        self._project_call(self.project.update_settings, **values)

    def import_labels(self, folder, kind: str) -> tuple[list[str], list[str]]:
        """Merge label files from `folder` into the project's annotations (io.annotation_import); the
        histories of the images that changed on disk are dropped and the shown labels reloaded."""
        if self.project is None or not self.save_now():
            return [], []
        try:
            imported, problems = import_annotations(self.project, folder, kind)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            return [], []
        self._reload_from_disk(imported)
        return imported, problems

    # ----- classes
    def add_class(self, name: str) -> int | None:
        """A new object class; returns its value."""
        info = self._project_call(self.project.add_class, name)
        self.classes_changed.emit()
        return None if info is None else int(info.value)

    def rename_class(self, value: int, name: str) -> None:
        self._project_call(self.project.rename_class, value, name)
        self.classes_changed.emit()

    def recolour_class(self, value: int, rgb: tuple[int, int, int]) -> None:
        self._project_call(self.project.recolor_class, value, "#{:02x}{:02x}{:02x}".format(*rgb))
        self.classes_changed.emit()

    def delete_class(self, value: int) -> None:
        """Remove a class in every annotation (its pixels become unlabelled, higher values shift down); label
        values change on disk, so every image's history is dropped and the labels reloaded."""
        if not self.save_now():
            return
        self._project_call(self.project.remove_class, value)
        self._reload_from_disk(list(self._stacks))

    def _reload_from_disk(self, image_ids) -> None:
        """These images' files changed under the document: drop their histories, reload the shown one."""
        for image_id in image_ids:
            if image_id in self._stacks:
                self._stacks[image_id].clear()
        shown = self.image_id
        if shown is not None and shown in image_ids:
            try:
                self._set_labels(self.project.load_annotation(shown), self.project.load_instances(shown))
            except StudioError as exc:
                self.error_raised.emit(str(exc))
            self.image_changed.emit(shown)
        self.classes_changed.emit()
        self.records_changed.emit()

    # ----- current image
    def set_image(self, image_id: str, plane: int = 0) -> bool:
        """Show another image: flushes the current labels first; False (and error_raised) on failure."""
        record = self.record(image_id)
        if record is None:
            return False
        if image_id == self.image_id and self.image is not None and plane == self.image.plane:
            return True
        try:
            image = read_image(self.project.image_path(image_id), plane=plane)
            if image_id != self.image_id:
                labels, ids = self.project.load_annotation(image_id), self.project.load_instances(image_id)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            if image_id != self.image_id:
                self._show_unreadable(image_id, str(exc))
            return False
        self.unreadable = None
        if image_id != self.image_id:
            if not self.close_image():
                return False
            self.image_id = image_id
            self._set_labels(labels, ids)
            self.undo_group.setActiveStack(self._stack(image_id))
        self.image = image
        self.pixels_changed.emit()
        self.image_changed.emit(image_id)
        self.annotation_changed.emit(None)
        self.dirty_changed.emit(self.is_dirty)
        return True

    def _show_unreadable(self, image_id: str, reason: str) -> None:
        """The chosen image cannot be read: drop the current one (saved first) so the next stroke cannot go to
        it, and remember why for the canvas and the title. If saving fails the current image stays."""
        if self.close_image():
            self.unreadable = (image_id, reason)
            self.image_changed.emit("")

    def set_plane(self, plane: int) -> bool:
        """Show another plane of a stack (the labels are one 2-D array shared by all planes)."""
        return self.image_id is not None and self.set_image(self.image_id, plane)

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

    def history(self, image_id: str) -> QUndoStack | None:
        """The undo stack of an image, if it has been edited or shown since the project opened."""
        return self._stacks.get(image_id)

    def _stack(self, image_id: str) -> QUndoStack:
        if image_id not in self._stacks:
            stack = QUndoStack(self.undo_group)
            stack.setUndoLimit(UNDO_LIMIT)
            stack.cleanChanged.connect(self._emit_dirty)
            self._stacks[image_id] = stack
        return self._stacks[image_id]

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
        self._stack(self.image_id).push(PaintCommand(self, self.image_id, patch, text, ids))
        self._set_dirty(True)
        self._autosave.start()

    def apply_patch(self, image_id: str, patch: Patch | None, new: bool, ids: Patch | None = None) -> None:
        """Undo/redo one edit (labels patch, object ids patch) on an image; a non-current image is edited on disk."""
        if image_id == self.image_id and self.labels is not None:
            if patch is not None:
                (patch.apply_new if new else patch.apply_old)(self.labels)
            if ids is not None:
                self.instances.apply(ids, new, self.labels.shape)
            self.labels_edited(edit_bbox(patch, ids))
            self._autosave.start()
            return
        try:
            self.writer.flush()
            apply_to_files(self.project, image_id, patch, ids, new)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
        self.records_changed.emit()

    # ----- saving
    @property
    def is_dirty(self) -> bool:
        """Unsaved label changes on the current image."""
        stack = self._stacks.get(self.image_id) if self.image_id else None
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
        self._stack(self.image_id).setClean()
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
            changed = self._record_status(result.image_id, result.status) or changed
            if result.image_id == self.image_id and result.seq == self._saves:
                self._values = set(result.values)  # exact again: the writer scanned what it wrote
        if changed:
            self.records_changed.emit()
        return ok

    def _record_status(self, image_id: str, status: str) -> bool:
        """The project's status of a saved image ('reviewed' stays while it is fully labelled)."""
        record = self.record(image_id)
        if record is None or record.status == status or (record.status == "reviewed" and status == "labelled"):
            return False
        try:
            self.project.set_status(image_id, status)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            return False
        return True

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
        ids = self.instances.ids
        self.writer.begin(self.image_id, stem, labels.copy(), self.project.instances_path(self.image_id),
                          None if ids is None else ids.copy())

    def _note_changed(self, bbox: tuple[int, int, int, int] | None) -> None:
        if self.labels is not None:
            self._changed.note(bbox, self.labels.shape)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self._emit_dirty()

    def _emit_dirty(self, *_args) -> None:
        self.dirty_changed.emit(self.is_dirty)
