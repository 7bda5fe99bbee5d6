"""The U-Net paper's pixel weight map: class balance plus a bonus on thin background gaps between objects.

w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2)) on labelled pixels, 0 on unlabelled ones, where
d1, d2 are the distances to the nearest and second-nearest object (connected component of the labelled
foreground, target >= 1). As in the paper's figure, the gap term is given to background pixels only.

Membranes are the other way round (``gaps="foreground"``): the objects are the cells, the connected regions
of labelled background (target == 0), and the gap term goes to the painted membrane pixels between two cells,
the thin places where a missed membrane would merge them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Beyond this many sigmas the gap term is below w0 * 1e-3 and is dropped, which bounds each object's box.
_CUTOFF_SIGMAS = 3.75
GAPS = ("background", "foreground")  # which pixels fill the gaps between objects (the others are the objects)


def class_weight_map(target: np.ndarray, class_balance: bool = True) -> np.ndarray:
    """w_c: each present class gets N / (n_classes_present * n_k) over labelled pixels, else 1; 0 unlabelled."""
    shifted = np.maximum(target, -1) + 1  # 0 = unlabelled, k + 1 = class k
    counts = np.bincount(shifted.ravel(), minlength=2)[1:]
    table = np.ones(counts.size + 1, np.float32)
    table[0] = 0.0
    present = counts > 0
    if class_balance and present.any():
        table[1:] = 0.0
        table[1:][present] = counts.sum() / (present.sum() * counts[present])
    return table[shifted]


def _two_nearest_object_distances(objects: np.ndarray, reach: float, connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, distances to the nearest and second-nearest object, a connected region of the boolean
    `objects` (inf when farther than `reach`)."""
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(objects.astype(np.uint8), connectivity=connectivity)
    nearest = np.full(objects.shape, np.inf, np.float32)
    second = np.full(objects.shape, np.inf, np.float32)
    if n_labels < 3:  # background plus at most one object: there is no gap between objects
        return nearest, second
    pad = int(math.ceil(reach))
    h, w = objects.shape
    for index in range(1, n_labels):
        x, y, bw, bh = stats[index, :4]
        box = np.s_[max(y - pad, 0) : min(y + bh + pad, h), max(x - pad, 0) : min(x + bw + pad, w)]
        outside = (labels[box] != index).astype(np.uint8)
        distance = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        near_box, second_box = nearest[box], second[box]
        np.minimum(second_box, np.maximum(near_box, distance), out=second_box)
        np.minimum(near_box, distance, out=near_box)
    return nearest, second


def border_weight_map(
    target: np.ndarray, w0: float = 10.0, sigma: float = 5.0, class_balance: bool = True, gaps: str = "background"
) -> np.ndarray:
    """float32 (H, W) weights for an int64 (H, W) training target (-1 unlabelled, 0 background, k class k).

    ``gaps="background"``: objects are the painted regions (8-connected), the gap term goes to background.
    ``gaps="foreground"``: objects are the background regions (4-connected: an 8-connected membrane line still
    separates two cells), the gap term goes to the painted pixels between them.
    """
    if target.ndim != 2:
        raise ValueError(f"border_weight_map: target must be (H, W), got shape {target.shape}")
    if gaps not in GAPS:
        raise ValueError(f"border_weight_map: gaps must be one of {', '.join(GAPS)}, got {gaps!r}")
    weights = class_weight_map(target, class_balance)
    if w0 <= 0 or sigma <= 0:
        return weights
    objects, gap_pixels, connectivity = (target >= 1, target == 0, 8) if gaps == "background" else (target == 0, target >= 1, 4)
    nearest, second = _two_nearest_object_distances(objects, _CUTOFF_SIGMAS * sigma, connectivity)
    gap = np.isfinite(second) & gap_pixels
    total = nearest[gap] + second[gap]
    weights[gap] += w0 * np.exp(-(total * total) / (2.0 * sigma * sigma))
    return weights


@dataclass(frozen=True)
class BorderWeight:
    """The weight map's settings, as the batch sources take them: w0, sigma and which pixels are the gaps."""

    w0: float = 10.0
    sigma: float = 5.0
    gaps: str = "background"

    def of(self, target: np.ndarray) -> np.ndarray:
        """The weight map of one augmented training target."""
        return border_weight_map(target, w0=self.w0, sigma=self.sigma, gaps=self.gaps)
