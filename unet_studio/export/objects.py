"""Per-object geometry and class, shared by the object formats (ROIs, GeoJSON, COCO, measurements).

Polygons are in pixel-edge coordinates (x, y), the convention of ImageJ, QuPath and COCO: pixel (row r,
column c) covers x in [c, c + 1], y in [r, r + 1]. Objects are 8-connected (as skimage.measure.label takes
them); an object may have several pieces and holes, which GeoJSON and COCO keep and ImageJ ROIs do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.measure import find_contours, label

from unet_studio.inference.postprocess import mask_to_instances


def check_instances(instances: np.ndarray, name: str = "instances") -> np.ndarray:
    """A 2-D non-negative integer label image, or ValueError naming what is wrong."""
    array = np.asarray(instances)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W), got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError(f"{name} must hold integer labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} holds negative labels")
    return array.astype(np.int64, copy=False)


@dataclass(frozen=True)
class Shape:
    """One 8-connected piece of an object: its outer ring (counter-clockwise in x-right, y-up terms: positive
    signed area) and the rings of its holes (negative signed area), each a closed (N, 2) float (x, y) ring."""

    outer: np.ndarray
    holes: tuple[np.ndarray, ...]


def object_shapes(instances: np.ndarray) -> dict[int, list[Shape]]:
    """Every object as its pieces with their holes, the largest piece first: label -> [Shape, ...]."""
    labels = check_instances(instances)
    shapes: dict[int, list[Shape]] = {}
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        pieces = label(labels[box] == index, connectivity=2)
        found = []
        for piece_index, piece_box in enumerate(ndimage.find_objects(pieces), start=1):
            crop = np.pad(pieces[piece_box] == piece_index, 1).astype(np.uint8)
            # crop row/col -> image row/col (-1 for the pad, + starts), then centre -> edge coordinates (+0.5)
            top = box[0].start + piece_box[0].start - 0.5
            left = box[1].start + piece_box[1].start - 0.5
            rings = [np.column_stack([c[:, 1] + left, c[:, 0] + top])
                     for c in find_contours(crop, 0.5, fully_connected="high")]
            areas = [polygon_area(ring) for ring in rings]
            outer = int(np.argmax(areas))
            holes = tuple(_oriented(ring, -1) for k, ring in enumerate(rings) if k != outer)
            found.append((areas[outer], Shape(_oriented(rings[outer], 1), holes)))
        shapes[index] = [shape for _, shape in sorted(found, key=lambda pair: -pair[0])]
    return shapes


def object_polygons(instances: np.ndarray) -> dict[int, np.ndarray]:
    """The outer ring of every object's largest piece, without holes: for formats that hold one polygon."""
    return {index: pieces[0].outer for index, pieces in object_shapes(instances).items()}


def signed_area(xy: np.ndarray) -> float:
    """Shoelace area, positive for counter-clockwise rings in x-right, y-up axes."""
    x, y = xy[:, 0], xy[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0


def _oriented(ring: np.ndarray, sign: int) -> np.ndarray:
    return ring if signed_area(ring) * sign >= 0 else ring[::-1].copy()


def polygon_area(xy: np.ndarray) -> float:
    """Area enclosed by a ring of (x, y) points (shoelace formula)."""
    return abs(signed_area(xy))


def majority_classes(instances: np.ndarray, classes_mask: np.ndarray | None) -> dict[int, int]:
    """Label -> the most frequent non-zero value of `classes_mask` under the object (1 without a mask)."""
    labels = check_instances(instances)
    present = np.unique(labels[labels > 0])
    if classes_mask is None:
        return {int(i): 1 for i in present}
    classes = check_instances(classes_mask, "classes mask")
    if classes.shape != labels.shape:
        raise ValueError(f"classes mask shape {classes.shape} differs from instances shape {labels.shape}")
    inside = (labels > 0) & (classes > 0)
    n_classes = int(classes.max()) + 1
    counts = np.bincount(labels[inside] * n_classes + classes[inside], minlength=(labels.max() + 1) * n_classes)
    counts = counts.reshape(-1, n_classes)
    return {int(i): int(counts[i].argmax()) if counts[i].any() else 1 for i in present}


def semantic_to_instances(mask: np.ndarray) -> np.ndarray:
    """Conventional mask (0 background, 1..K) -> instances, split exactly as predictions are
    (inference.postprocess.mask_to_instances: components per class, touching round objects split)."""
    classes = check_instances(mask, "mask")
    return as_instance_dtype(mask_to_instances(classes))


def as_instance_dtype(instances: np.ndarray) -> np.ndarray:
    """uint16 label image, or uint32 when labels pass 65535 (the contract's instance convention)."""
    top = int(instances.max()) if instances.size else 0
    return instances.astype(np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32)
