"""Bring labels made elsewhere into a project: masks, instance labels, annotations or ImageJ ROI zips.

Imported labels are merged into what the image already has: pixels the imported file labels take its
value, pixels it leaves unlabelled keep the existing annotation. So importing never erases existing work
outside the imported objects, and a full mask simply replaces it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.errors import AnnotationError, StudioError
from unet_studio.core.project import Project
from unet_studio.io.imagej_rois import rois_to_annotation
from unet_studio.io.label_files import LABEL_SUFFIXES, find_label_file, import_label_image, read_label_image

KINDS = ("mask", "instances", "annotation", "roi")
ROI_SUFFIXES = (".zip", "_rois.zip")


def read_as_annotation(path: Path, shape: tuple[int, int], kind: str, class_value: int = 2) -> np.ndarray:
    """One label file as an annotation (0 unlabelled, 1 background, 2.. classes) of `shape`."""
    if kind == "mask":
        return import_label_image(path, shape)
    if kind == "roi":
        return rois_to_annotation(path, shape, class_value, background_value=0)
    labels = read_label_image(path)
    if labels.shape != tuple(shape):
        raise AnnotationError(path, f"label image shape {labels.shape} differs from the image's {tuple(shape)}")
    if kind == "instances":
        return mask_to_annotation((labels > 0).astype(np.uint8) * (class_value - 1))
    if kind == "annotation":
        return labels.astype(np.uint8 if labels.max(initial=0) <= 255 else np.uint16)
    raise AnnotationError(path, f"unknown kind of labels {kind!r}; choose one of {', '.join(KINDS)}")


def merge(existing: np.ndarray, imported: np.ndarray) -> np.ndarray:
    """Imported labelled pixels win; elsewhere the existing annotation stays."""
    dtype = np.promote_types(existing.dtype, imported.dtype)
    return np.where(imported > 0, imported, existing).astype(dtype)


def import_annotations(project: Project, labels_dir: str | Path, kind: str = "mask",
                       class_value: int = 2) -> tuple[list[str], list[str]]:
    """Import a folder of label files (matched to the project's images by stem); returns (ids, problems).

    Class values the project does not know yet are added as new classes, so nothing imported is lost.
    """
    labels_dir = Path(labels_dir)
    if kind not in KINDS:
        raise AnnotationError(labels_dir, f"unknown kind of labels {kind!r}; choose one of {', '.join(KINDS)}")
    if not labels_dir.is_dir():
        raise AnnotationError(labels_dir, "labels folder not found")
    imported, problems = [], []
    for record in project.images:
        path = find_label_file(labels_dir, record.path, ROI_SUFFIXES if kind == "roi" else LABEL_SUFFIXES)
        if path is None:
            continue
        try:
            existing = project.load_annotation(record.id)
            annotation = read_as_annotation(path, existing.shape, kind, class_value)
            _add_missing_classes(project, int(annotation.max(initial=0)))
            project.save_annotation(record.id, merge(existing, annotation))
            imported.append(record.id)
        except StudioError as error:
            problems.append(str(error))
    if not imported and not problems:
        problems.append(f"{labels_dir}: no label file has the name of an image in the project")
    return imported, problems


def _add_missing_classes(project: Project, highest: int) -> None:
    known = max(c.value for c in project.classes)
    for value in range(known + 1, highest + 1):
        project.add_class(f"class {value - 1}")
