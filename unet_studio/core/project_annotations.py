"""The project's annotations, instance layers and predictions: a mixin of core.project.Project.

Kept apart from project.py so the label stores (per-plane stacks, chunked labels of huge images) grow here
without crowding the manifest code. The host class provides ``folder``, ``image``, ``image_path``,
``_replace_image`` and ``_subfolder``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from unet_studio.core import annotations as ann
from unet_studio.core.errors import AnnotationError
from unet_studio.core.images import image_info
from unet_studio.core.instance_labels import INSTANCE_FOLDER, INSTANCE_SUFFIX, read_instances, write_instances


class ProjectAnnotations:
    """Reading and writing the labels, object ids and predictions stored beside the manifest."""

    def _shape(self, image_id: str) -> tuple[int, int]:
        record = self.image(image_id)
        if record.height and record.width:
            return record.height, record.width
        info = image_info(self.image_path(image_id))
        return info.height, info.width

    def annotation_path(self, image_id: str) -> Path | None:
        self.image(image_id)
        return ann.annotation_file(self.folder / "annotations" / image_id)

    def load_annotation(self, image_id: str) -> np.ndarray:
        """The image's labels (H, W); all zeros (uint8) when nothing is saved yet."""
        shape = self._shape(image_id)
        path = self.annotation_path(image_id)
        return np.zeros(shape, np.uint8) if path is None else ann.read_annotation(path, shape)

    def save_annotation(self, image_id: str, labels: np.ndarray) -> Path:
        """Write the labels atomically and update the status ('reviewed' stays while fully labelled)."""
        stem = self.folder / "annotations" / image_id
        shape = self._shape(image_id)
        if np.shape(labels) != shape:
            raise AnnotationError(f"{stem}.png", f"annotation is {' x '.join(map(str, np.shape(labels)))} "
                                  f"but the image is {shape[0]} x {shape[1]} (height x width)")
        self._subfolder("annotations")
        written = ann.write_annotation(stem, labels)
        record, status = self.image(image_id), ann.label_status(labels)
        if not (record.status == "reviewed" and status == "labelled"):
            self._replace_image(replace(record, status=status))
        return written

    def instances_path(self, image_id: str) -> Path:
        """Where the image's instance layer lives (the file may not exist)."""
        self.image(image_id)
        return self.folder / INSTANCE_FOLDER / f"{image_id}{INSTANCE_SUFFIX}"

    def load_instances(self, image_id: str) -> np.ndarray | None:
        """The image's object ids, uint32 (H, W), 0 = no object; None when it has no instance layer."""
        path = self.instances_path(image_id)
        return read_instances(path, self._shape(image_id)) if path.is_file() else None

    def save_instances(self, image_id: str, ids: np.ndarray) -> Path:
        """Write the instance layer atomically (an all-zero one removes the file); statuses are unchanged."""
        path, shape = self.instances_path(image_id), self._shape(image_id)
        self._subfolder(INSTANCE_FOLDER)
        return write_instances(path, ids, shape)

    def save_prediction(self, image_id: str, mask: np.ndarray) -> Path:
        """Store a predicted conventional mask; an unlabelled image becomes 'predicted'."""
        stem = self._subfolder("predictions") / image_id
        written = ann.write_annotation(stem, mask)
        record = self.image(image_id)
        if record.status == "unlabelled":
            self._replace_image(replace(record, status="predicted"))
        return written

    def prediction_path(self, image_id: str) -> Path | None:
        """The stored predicted mask's file, or None."""
        self.image(image_id)
        return ann.annotation_file(self.folder / "predictions" / image_id)

    def load_prediction(self, image_id: str) -> np.ndarray | None:
        """The stored predicted mask, or None."""
        path = self.prediction_path(image_id)
        return None if path is None else ann.read_annotation(path, self._shape(image_id))
