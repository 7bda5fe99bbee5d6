"""Bring labels made elsewhere into a project: masks, instance labels, annotations or ImageJ ROI zips.

Imported labels are merged into what the image already has: pixels the imported file labels take its
value, pixels it leaves unlabelled keep the existing annotation. So importing never erases existing work
outside the imported objects, and a full mask simply replaces it.

The project's instance layer (which object each pixel belongs to) follows the same rule: instance labels
and ROI sets (one object per ROI) fill it where they label pixels, their objects numbered after the ids
kept elsewhere; other kinds take the pixels whose class they change out of their objects; pixels the
import leaves alone keep theirs.

A stack's labels come per plane: a multi-page label file (masks, instances, annotations) with as many
planes as the image gives each plane its own; a one-plane file (and a ROI set) labels plane 0, as an old
project's shared annotation does (core.plane_labels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.segmentation import relabel_sequential

from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.errors import AnnotationError, ImageReadError, StudioError
from unet_studio.core.images import image_info
from unet_studio.core.project import Project
from unet_studio.io.imagej_rois import rois_to_annotation, rois_to_objects
from unet_studio.io.label_files import LABEL_SUFFIXES, find_label_file, import_label_image, read_label_image

KINDS = ("mask", "instances", "annotation", "roi")
ROI_SUFFIXES = (".zip", "_rois.zip")


def read_as_annotation(path: Path, shape: tuple[int, int], kind: str, class_value: int = 2,
                       plane: int | None = None) -> np.ndarray:
    """One label file (`plane` of a multi-page one) as an annotation (0 unlabelled, 1 background, 2..) of
    `shape`."""
    if kind == "mask":
        return import_label_image(path, shape, plane)
    if kind == "roi":
        return rois_to_annotation(path, shape, class_value, background_value=0)
    if kind == "instances":
        return instances_to_annotation(read_instance_image(path, shape, plane), class_value)
    labels = read_label_image(path, plane)
    if labels.shape != tuple(shape):
        raise AnnotationError(path, f"label image shape {labels.shape} differs from the image's {tuple(shape)}")
    if kind == "annotation":
        return labels.astype(np.uint8 if labels.max(initial=0) <= 255 else np.uint16)
    raise AnnotationError(path, f"unknown kind of labels {kind!r}; choose one of {', '.join(KINDS)}")


def read_instance_image(path: Path, shape: tuple[int, int], plane: int | None = None) -> np.ndarray:
    """An instance label image (0 background, one id per object) of `shape` (`plane` of a stack), as uint32."""
    objects = read_label_image(path, plane)
    if objects.shape != tuple(shape):
        raise AnnotationError(path, f"label image shape {objects.shape} differs from the image's {tuple(shape)}")
    if int(objects.max(initial=0)) > np.iinfo(np.uint32).max:
        raise AnnotationError(path, f"object id {int(objects.max())} is too large (at most {np.iinfo(np.uint32).max})")
    return objects.astype(np.uint32, copy=False)


def instances_to_annotation(objects: np.ndarray, class_value: int = 2) -> np.ndarray:
    """Objects -> their class (`class_value`), the rest background: the annotation of an instance image."""
    return mask_to_annotation((objects > 0).astype(np.uint8) * (class_value - 1))


def merge(existing: np.ndarray, imported: np.ndarray) -> np.ndarray:
    """Imported labelled pixels win; elsewhere the existing annotation stays."""
    dtype = np.promote_types(existing.dtype, imported.dtype)
    return np.where(imported > 0, imported, existing).astype(dtype)


def merge_instances(ids: np.ndarray | None, existing: np.ndarray, imported: np.ndarray,
                    objects: np.ndarray | None) -> np.ndarray | None:
    """The instance layer after an import (`merge` for object ids); None when there is still no object.

    `ids` and `existing` are the image's layer (None: none yet) and annotation before, `imported` the
    annotation read, `objects` the ids read (None for kinds without objects)."""
    if ids is None and objects is None:
        return None
    ids = np.zeros(existing.shape, np.uint32) if ids is None else ids.astype(np.uint32, copy=False)
    untouched = imported == 0
    if objects is None:  # a pixel whose class the import changes leaves its object
        return np.where(untouched | (imported == existing), ids, 0).astype(np.uint32)
    kept = np.where(untouched, ids, 0).astype(np.uint32)
    renumbered = relabel_sequential(objects, offset=int(kept.max(initial=0)) + 1)[0]
    return np.where(untouched, kept, renumbered).astype(np.uint32)


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
            n_planes, pages = project.n_planes(record.id), _pages(path, kind)
            if pages not in (1, n_planes):
                raise AnnotationError(path, f"label file has {pages} planes but the image has {n_planes}")
            _import_file(project, record.id, path, kind, class_value, pages)
            imported.append(record.id)
        except StudioError as error:
            problems.append(str(error))
    if not imported and not problems:
        problems.append(f"{labels_dir}: no label file has the name of an image in the project")
    return imported, problems


def _pages(path: Path, kind: str) -> int:
    """How many planes a label file holds (a ROI set: one)."""
    if kind == "roi":
        return 1
    try:
        return image_info(path).n_planes
    except ImageReadError as exc:
        raise AnnotationError(path, f"cannot read label file ({exc.reason})") from exc


def _import_file(project: Project, image_id: str, path: Path, kind: str, class_value: int, pages: int) -> None:
    """Merge a label file into the image: each page into its plane of a stack (a one-page file into plane 0),
    the labels written once, then each plane's object layer."""
    existing = project.load_label_planes(image_id)
    merged, layers = list(existing), {}
    for plane in range(pages):
        page = plane if pages > 1 else None
        objects = _objects(path, existing[plane].shape, kind, page)
        annotation = (instances_to_annotation(objects, class_value) if kind == "instances"
                      else read_as_annotation(path, existing[plane].shape, kind, class_value, page))
        layers[plane] = merge_instances(project.load_instances(image_id, plane), existing[plane], annotation, objects)
        _add_missing_classes(project, int(annotation.max(initial=0)))
        merged[plane] = merge(existing[plane], annotation)
    project.save_label_planes(image_id, np.stack(merged))  # checks the values fit, writes uint8 or uint16
    for plane, ids in layers.items():
        if ids is not None:
            project.save_instances(image_id, ids, plane)


def _objects(path: Path, shape: tuple[int, int], kind: str, plane: int | None = None) -> np.ndarray | None:
    """The objects a label file names: an instance image's ids, one per ROI of a ROI set; None for masks."""
    if kind == "instances":
        return read_instance_image(path, shape, plane)
    return rois_to_objects(path, shape) if kind == "roi" else None


def _add_missing_classes(project: Project, highest: int) -> None:
    known = max(c.value for c in project.classes)
    for value in range(known + 1, highest + 1):
        project.add_class(f"class {value - 1}")
