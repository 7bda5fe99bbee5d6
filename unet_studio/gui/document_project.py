"""The project side of the annotation document: records, classes, splits, models and label imports.

A mixin of gui.document.AnnotationDocument, kept apart so the document itself holds only the current image,
its planes, history and autosave. The host provides the signals (records_changed, classes_changed,
image_changed, error_raised), ``project``, ``save_now``, ``image_id``, ``plane``, ``_stacks`` and
``_set_labels``.
"""

from __future__ import annotations

from pathlib import Path

from unet_studio.core.colors import parse_color
from unet_studio.core.errors import StudioError
from unet_studio.io.annotation_import import import_annotations


class DocumentProject:
    """Calls into the open Project that the panels make through the document (which then signals)."""

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

    def save_prediction(self, image_id: str, mask, plane: int = 0) -> None:
        """Store a predicted mask (an unlabelled image becomes 'predicted'), then records_changed; a
        StudioError reaches the caller."""
        self.project.save_prediction(image_id, mask, plane)
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
        self._reload_from_disk({image_id for image_id, _plane in self._stacks})

    def _reload_from_disk(self, image_ids) -> None:
        """These images' files changed under the document: drop their histories (every plane's), reload the
        shown plane."""
        for (image_id, _plane), stack in self._stacks.items():
            if image_id in image_ids:
                stack.clear()
        shown, plane = self.image_id, self.plane
        if shown is not None and shown in image_ids:
            try:
                self._set_labels(self.project.load_annotation(shown, plane), self.project.load_instances(shown, plane))
            except StudioError as exc:
                self.error_raised.emit(str(exc))
            self.image_changed.emit(shown)
        self.classes_changed.emit()
        self.records_changed.emit()
