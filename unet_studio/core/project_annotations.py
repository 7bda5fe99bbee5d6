"""The project's annotations, instance layers and predictions: a mixin of core.project.Project.

Kept apart from project.py so the label stores (per-plane stacks, chunked labels of huge images) grow here
without crowding the manifest code. A stack's labels (one 2-D annotation per Z or T plane) are one
multi-page file (core.plane_labels); its object layers and predictions are one file per plane
(``plane_file``). Every method takes the ``plane`` (0 for single-plane images). The host class provides
``folder``, ``image``, ``image_path``, ``_replace_image`` and ``_subfolder``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from unet_studio.core import annotations as ann
from unet_studio.core.errors import AnnotationError, ImageReadError
from unet_studio.core.images import image_info
from unet_studio.core.instance_labels import INSTANCE_FOLDER, INSTANCE_SUFFIX, read_instances, write_instances
from unet_studio.core.plane_labels import (
    read_label_plane, read_label_planes, save_plane, stack_status, write_label_planes,
)

PLANE_FILES = ".plane-{}"  # <id>.plane-<k>: the object layer or prediction of plane k > 0 of a stack


def plane_file(path: Path, plane: int) -> Path:
    """The per-plane file of plane ``plane`` beside the plane-0 ``path`` (instances/<id>.tif ->
    instances/<id>.plane-3.tif; a path without a suffix gets the tag at its end)."""
    if plane == 0:
        return path
    return path.with_name(f"{path.stem}{PLANE_FILES.format(plane)}{path.suffix}")


class ProjectAnnotations:
    """Reading and writing the labels, object ids and predictions stored beside the manifest."""

    def _shape(self, image_id: str) -> tuple[int, int]:
        record = self.image(image_id)
        if record.height and record.width:
            return record.height, record.width
        info = image_info(self.image_path(image_id))
        return info.height, info.width

    def n_planes(self, image_id: str) -> int:
        """The image's Z or T planes (1 for a single-plane image, or one whose header cannot be read)."""
        record = self.image(image_id)
        if record.planes:
            return record.planes
        try:
            return image_info(self.image_path(image_id)).n_planes
        except ImageReadError:
            return 1

    def annotation_path(self, image_id: str) -> Path | None:
        self.image(image_id)
        return ann.annotation_file(self.folder / "annotations" / image_id)

    def load_annotation(self, image_id: str, plane: int = 0) -> np.ndarray:
        """The labels (H, W) of one plane of the image; all zeros (uint8) when nothing is saved yet."""
        return self._load_plane(self.annotation_path(image_id), image_id, plane)

    def load_label_planes(self, image_id: str) -> np.ndarray:
        """Every plane's labels (P, H, W) of the image (P = 1 for a single-plane image)."""
        path, n = self.annotation_path(image_id), self.n_planes(image_id)
        if n == 1:
            return self.load_annotation(image_id)[None]
        return read_label_planes(path, n, self._shape(image_id))

    def _load_plane(self, path: Path | None, image_id: str, plane: int) -> np.ndarray:
        shape, n = self._shape(image_id), self.n_planes(image_id)
        if not 0 <= plane < n:
            raise AnnotationError(self.image_path(image_id), f"plane {plane} out of range (the image has {n})")
        if path is None:
            return np.zeros(shape, np.uint8)
        return ann.read_annotation(path, shape) if n == 1 else read_label_plane(path, plane, n, shape)

    def save_annotation(self, image_id: str, labels: np.ndarray, plane: int = 0) -> Path:
        """Write one plane's labels atomically (a stack's other planes stay as they are on disk) and update
        the status ('reviewed' stays while fully labelled) and, for a stack, its count of labelled planes."""
        stem = self.folder / "annotations" / image_id
        shape, n = self._shape(image_id), self.n_planes(image_id)
        if np.shape(labels) != shape:
            raise AnnotationError(f"{stem}.png", f"annotation is {' x '.join(map(str, np.shape(labels)))} "
                                  f"but the image is {shape[0]} x {shape[1]} (height x width)")
        self._subfolder("annotations")
        written, status, labelled = save_plane(stem, labels, plane, n)
        self.record_label_state(image_id, status, labelled)
        return written

    def save_label_planes(self, image_id: str, volume: np.ndarray) -> Path:
        """Write every plane's labels (P, H, W) at once (one atomic write, as an import does) and update the
        status as save_annotation does."""
        shape, n = self._shape(image_id), self.n_planes(image_id)
        if np.shape(volume) != (n, *shape):
            raise AnnotationError(self.folder / "annotations" / image_id, f"labels are {np.shape(volume)}, the "
                                  f"image has {n} plane(s) of {shape[0]} x {shape[1]}")
        if n == 1:
            return self.save_annotation(image_id, np.asarray(volume)[0])
        self._subfolder("annotations")
        written = write_label_planes(self.folder / "annotations" / image_id, volume)
        self.record_label_state(image_id, *stack_status(volume))
        return written

    def record_label_state(self, image_id: str, status: str, labelled_planes: int | None = None) -> bool:
        """Store an image's label status as saved ('reviewed' stays while labelled) and a stack's count of
        labelled planes; True if the record changed."""
        record = self.image(image_id)
        changed = record
        if not (record.status == "reviewed" and status == "labelled"):
            changed = replace(changed, status=status)
        if labelled_planes is not None:
            changed = replace(changed, labelled_planes=labelled_planes, planes=self.n_planes(image_id))
        if changed == record:
            return False
        self._replace_image(changed)
        return True

    def _remap_labels(self, record, lut: np.ndarray, value: int):
        """Class ``value`` removed (remove_class): labels and predictions of every plane through ``lut``,
        rewritten where they held ``value`` or above; returns the record with its new status."""
        stem, n = self.folder / "annotations" / record.id, self.n_planes(record.id)
        if self.annotation_path(record.id) is not None:
            labels = self.load_label_planes(record.id)
            if labels.max() >= value:
                labels = lut[labels]
                status, labelled = stack_status(labels) if n > 1 else (ann.label_status(labels[0]), None)
                _write_planes(stem, labels)
                if not (record.status == "reviewed" and status == "labelled"):
                    record = replace(record, status=status)
                if labelled is not None:
                    record = replace(record, labelled_planes=labelled, planes=n)
        for plane in range(n):
            mask = self.load_prediction(record.id, plane)
            if mask is not None and mask.max() >= value - 1:
                ann.write_annotation(self._prediction_stem(record.id, plane),
                                     np.maximum(lut[mask.astype(np.int64) + 1] - 1, 0))
        return record

    def instances_path(self, image_id: str, plane: int = 0) -> Path:
        """Where one plane's instance layer lives (the file may not exist): ``instances/<id>.tif`` for plane 0
        (so an old project's layer of a stack stays plane 0's, as its labels do), ``<id>.plane-<k>.tif`` else."""
        self.image(image_id)
        return plane_file(self.folder / INSTANCE_FOLDER / f"{image_id}{INSTANCE_SUFFIX}", plane)

    def load_instances(self, image_id: str, plane: int = 0) -> np.ndarray | None:
        """One plane's object ids, uint32 (H, W), 0 = no object; None when it has no instance layer."""
        path = self.instances_path(image_id, plane)
        return read_instances(path, self._shape(image_id)) if path.is_file() else None

    def save_instances(self, image_id: str, ids: np.ndarray, plane: int = 0) -> Path:
        """Write one plane's instance layer atomically (an all-zero one removes the file); statuses unchanged."""
        path, shape = self.instances_path(image_id, plane), self._shape(image_id)
        self._subfolder(INSTANCE_FOLDER)
        return write_instances(path, ids, shape)

    def save_prediction(self, image_id: str, mask: np.ndarray, plane: int = 0) -> Path:
        """Store a predicted conventional mask of one plane (``predictions/<id>.png``; plane k > 0 of a stack
        in ``<id>.plane-<k>.png``, so a plane not predicted has no file); an unlabelled image becomes
        'predicted'."""
        self._subfolder("predictions")
        written = ann.write_annotation(self._prediction_stem(image_id, plane), mask)
        record = self.image(image_id)
        if record.status == "unlabelled":
            self._replace_image(replace(record, status="predicted"))
        return written

    def _prediction_stem(self, image_id: str, plane: int) -> Path:
        return self.folder / "predictions" / f"{image_id}{PLANE_FILES.format(plane) if plane else ''}"

    def prediction_path(self, image_id: str, plane: int = 0) -> Path | None:
        """The stored predicted mask's file of one plane, or None."""
        self.image(image_id)
        return ann.annotation_file(self._prediction_stem(image_id, plane))

    def load_prediction(self, image_id: str, plane: int = 0) -> np.ndarray | None:
        """One plane's stored predicted mask, or None."""
        path = self.prediction_path(image_id, plane)
        return None if path is None else ann.read_annotation(path, self._shape(image_id))

def _write_planes(stem: Path, volume: np.ndarray) -> Path:
    """(P, H, W) labels to the file of their kind: an ordinary annotation for P = 1, else the stack's."""
    return ann.write_annotation(stem, volume[0]) if len(volume) == 1 else write_label_planes(stem, volume)
