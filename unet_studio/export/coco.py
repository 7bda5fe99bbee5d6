"""COCO instance-segmentation JSON for a set of images: polygons, boxes, areas, categories.

An object is a list of polygons (one per piece); an object with holes, which COCO polygons cannot hold, is
an uncompressed run-length encoding instead ({"counts", "size"}, column-major, as pycocotools reads it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from unet_studio import __version__
from unet_studio.core.atomic import atomic_write_json
from unet_studio.export.errors import ExportError
from unet_studio.export.objects import check_instances, majority_classes, object_shapes
from unet_studio.export.styles import resolve_classes


@dataclass(frozen=True)
class CocoImage:
    """One image's objects: its file name, instance labels and optional conventional class mask."""

    file_name: str
    instances: np.ndarray
    classes_mask: np.ndarray | None = None
    pixel_size_um: float | None = None


def _annotations(image_id: int, first_id: int, entry: CocoImage) -> tuple[list[dict], int]:
    labels = check_instances(entry.instances, f"{entry.file_name} instances")
    class_of = majority_classes(labels, entry.classes_mask)
    areas = np.bincount(labels.ravel())
    boxes = ndimage.find_objects(labels)
    annotations = []
    for label, shapes in object_shapes(labels).items():
        rows, cols = boxes[label - 1]
        if any(shape.holes for shape in shapes):
            segmentation: Any = run_length(labels[rows, cols] == label, rows.start, cols.start, labels.shape)
        else:
            segmentation = [[round(float(v), 3) for v in shape.outer[:-1].ravel()] for shape in shapes]
        annotations.append({
            "id": first_id + len(annotations), "image_id": image_id, "category_id": class_of[label],
            "segmentation": segmentation,
            "bbox": [cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start],
            "area": int(areas[label]), "iscrowd": 0,
        })
    return annotations, first_id + len(annotations)


def run_length(crop: np.ndarray, top: int, left: int, shape: tuple[int, int]) -> dict[str, Any]:
    """COCO's uncompressed RLE of an object given by its boolean crop at (top, left) in an image of `shape`:
    alternating background/object run lengths in column-major order, starting with background."""
    height, width = shape
    rows, cols = np.nonzero(crop)
    positions = np.sort((cols + left).astype(np.int64) * height + rows + top)
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    starts = positions[np.r_[0, breaks]]
    ends = positions[np.r_[breaks - 1, positions.size - 1]] + 1
    counts, previous = [], 0
    for start, end in zip(starts.tolist(), ends.tolist()):
        counts += [start - previous, end - start]
        previous = end
    counts.append(height * width - previous)
    return {"counts": counts, "size": [int(height), int(width)]}


def coco_dataset(entries: Sequence[CocoImage], classes: Sequence[Any] | None = None) -> dict[str, Any]:
    """The COCO dict; category ids are the mask's class values (1..K), image and annotation ids count from 1."""
    images, annotations, next_id, top_class = [], [], 1, 0
    for image_id, entry in enumerate(entries, start=1):
        height, width = np.shape(entry.instances)[:2]
        image = {"id": image_id, "file_name": entry.file_name, "width": int(width), "height": int(height)}
        if entry.pixel_size_um is not None:
            image["pixel_size_um"] = float(entry.pixel_size_um)
        images.append(image)
        found, next_id = _annotations(image_id, next_id, entry)
        annotations += found
        top_class = max([top_class] + [a["category_id"] for a in found])
    styles = resolve_classes(classes, top_class)
    categories = [{"id": s.value, "name": s.name, "supercategory": "object"} for s in styles.values()]
    return {
        "info": {"description": "UNet Studio export", "version": __version__,
                 "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        "licenses": [], "images": images, "annotations": annotations,
        "categories": sorted(categories, key=lambda c: c["id"]),
    }


def write_coco(path: str | Path, entries: Sequence[CocoImage], classes: Sequence[Any] | None = None) -> Path:
    """Write one COCO JSON for all entries, atomically."""
    path = Path(path)
    try:
        dataset = coco_dataset(entries, classes)
    except ValueError as error:
        raise ExportError(path, str(error)) from error
    atomic_write_json(path, dataset, indent=None)
    return path
