"""The U-Net paper's pixel weight map: class balance plus a bonus on thin background gaps between objects.

w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2)) on labelled pixels, 0 on unlabelled ones, where
d1, d2 are the distances to the nearest and second-nearest object (connected component of the labelled
foreground, target >= 1). As in the paper's figure, the gap term is given to background pixels only.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Beyond this many sigmas the gap term is below w0 * 1e-3 and is dropped, which bounds each object's box.
_CUTOFF_SIGMAS = 3.75


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


def _two_nearest_object_distances(target: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, distances to the nearest and second-nearest object (inf when farther than `reach`)."""
    foreground = (target >= 1).astype(np.uint8)
    n_labels, labels, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    nearest = np.full(target.shape, np.inf, np.float32)
    second = np.full(target.shape, np.inf, np.float32)
    if n_labels < 3:  # background plus at most one object: there is no gap between objects
        return nearest, second
    pad = int(math.ceil(reach))
    h, w = target.shape
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
    target: np.ndarray, w0: float = 10.0, sigma: float = 5.0, class_balance: bool = True
) -> np.ndarray:
    """float32 (H, W) weights for an int64 (H, W) training target (-1 unlabelled, 0 background, k class k)."""
    if target.ndim != 2:
        raise ValueError(f"border_weight_map: target must be (H, W), got shape {target.shape}")
    weights = class_weight_map(target, class_balance)
    if w0 <= 0 or sigma <= 0:
        return weights
    nearest, second = _two_nearest_object_distances(target, _CUTOFF_SIGMAS * sigma)
    gap = np.isfinite(second) & (target == 0)
    total = nearest[gap] + second[gap]
    weights[gap] += w0 * np.exp(-(total * total) / (2.0 * sigma * sigma))
    return weights
