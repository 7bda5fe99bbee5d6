"""PixelForest: a random-forest pixel classifier on multiscale image features, fitted on scribbles.

It is scikit-image's trainable segmentation (``skimage.feature.multiscale_basic_features``: Gaussian-smoothed
intensity, gradient magnitude and Hessian eigenvalues at sigmas 1-16 px; a forest of 50 trees of depth 10 as
in its example), the classifier ilastik users know. Scribble runs fit one beside the U-Net and average the
two's probabilities (training/scribble_forest.py): their errors differ, so the average beats both.
scikit-learn fits it; the trees are then kept as plain arrays (checkpoints load with weights_only=True) and
walked here in torch, so predicting needs no scikit-learn and unpickles nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.feature import multiscale_basic_features

SIGMAS = (1.0, 16.0)
CONTEXT = 72  # px each side the features read: the largest Gaussian (sigma 16, to 4 sigma) and its derivatives
TREES, DEPTH, SAMPLE_FRACTION = 50, 10, 0.05
CHUNK = 65536  # pixels walked through the trees at once
STRIP = 1024  # rows of a big image whose features are made at once while fitting
FOREST_KEY = "pixel_forest"  # where a checkpoint's "extra" holds it


def pixel_features(image: np.ndarray) -> np.ndarray:
    """float32 ``(H, W, F)`` features of a network-normalised ``(C, H, W)`` image (the network's input)."""
    image = np.asarray(image, np.float32)
    plane = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)
    features = multiscale_basic_features(plane, intensity=True, edges=True, texture=True, sigma_min=SIGMAS[0],
                                         sigma_max=SIGMAS[1], channel_axis=None if plane.ndim == 2 else -1,
                                         workers=1)
    return features.astype(np.float32, copy=False)


@dataclass(frozen=True)
class PixelForest:
    """Trees as padded arrays: ``left``/``right`` child (-1 at a leaf), ``feature`` and ``threshold`` of each
    split node, ``value`` the class probabilities of each node ``(trees, nodes, classes)``."""

    left: torch.Tensor
    right: torch.Tensor
    feature: torch.Tensor
    threshold: torch.Tensor
    value: torch.Tensor
    depth: int

    @property
    def n_classes(self) -> int:
        return int(self.value.shape[-1])

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """float32 ``(K, H, W)`` class probabilities of a normalised ``(C, H, W)`` image (mirrored at its edges
        as the tiler mirrors them, so whole images and tiles give the same)."""
        return self.classify(features_in_rows(mirrored(image), 0, image.shape[1]))

    def classify(self, features: np.ndarray) -> np.ndarray:
        """float32 ``(K, H, W)`` class probabilities of pixel features ``(H, W, F)``."""
        height, width = features.shape[:2]
        flat = torch.from_numpy(features.reshape(height * width, -1))
        out = torch.empty(height * width, self.n_classes)
        for start in range(0, flat.shape[0], CHUNK):
            out[start:start + CHUNK] = self._walk(flat[start:start + CHUNK])
        return out.T.reshape(self.n_classes, height, width).numpy()

    def _walk(self, x: torch.Tensor) -> torch.Tensor:
        """Mean leaf value over the trees for pixels ``x`` (N, F): every tree at once, one level per pass, on
        flat indices (a node of tree t is t * nodes + node)."""
        n_trees, nodes = self.left.shape
        offset = torch.arange(n_trees)[:, None] * nodes
        left = torch.where(self.left >= 0, self.left + offset, -1).flatten()
        right = (self.right + offset).flatten()
        feature, threshold = self.feature.flatten(), _as_float32_cut(self.threshold).flatten()
        pixel_start = torch.arange(x.shape[0])[None, :] * x.shape[1]
        flat_x, node = x.contiguous().flatten(), offset.expand(n_trees, x.shape[0]).clone()
        for _ in range(self.depth):
            child = left.take(node)
            value = flat_x.take(pixel_start + feature.take(node))
            node = torch.where(child < 0, node, torch.where(value <= threshold.take(node), child, right.take(node)))
        return self.value.flatten(0, 1)[node.flatten()].view(n_trees, x.shape[0], -1).mean(dim=0)

    def to_plain(self) -> dict:
        """What a checkpoint stores (tensors and an int)."""
        return {"left": self.left, "right": self.right, "feature": self.feature, "threshold": self.threshold,
                "value": self.value, "depth": self.depth}

    @classmethod
    def from_plain(cls, data: dict | None) -> PixelForest | None:
        """The forest of a checkpoint's plain dict; None for None or an empty dict."""
        if not data:
            return None
        return cls(data["left"].long(), data["right"].long(), data["feature"].long(), data["threshold"].double(),
                   data["value"].float(), int(data["depth"]))


def _as_float32_cut(threshold: torch.Tensor) -> torch.Tensor:
    """float32 cuts that split float32 features as the float64 ``threshold`` does (x <= t): t rounded down."""
    cut = threshold.float()
    above = cut.double() > threshold
    return torch.where(above, torch.nextafter(cut, torch.tensor(-float("inf"))), cut)


def fit_forest(images, targets, n_classes: int, seed: int = 0, threads: int = 1) -> tuple[PixelForest, int] | None:
    """The forest fitted on the labelled pixels (target >= 0) of normalised ``(H, W, C)`` images, and how many
    pixels it learnt from; None when no pixel is labelled. Images ``(C, H, W)``, as the network's input.
    Needs scikit-learn."""
    from sklearn.ensemble import RandomForestClassifier

    samples, labels = [], []
    for image, target in zip(images, targets):
        labelled = target >= 0
        if labelled.any():
            samples.append(_labelled_features(image, labelled))
            labels.append(target[labelled].astype(np.int64))
    if not samples:
        return None
    x, y = np.concatenate(samples), np.concatenate(labels)
    forest = RandomForestClassifier(n_estimators=TREES, max_depth=DEPTH, max_samples=SAMPLE_FRACTION,
                                    random_state=seed, n_jobs=threads).fit(x, y)
    return _as_arrays(forest, n_classes), int(y.size)


def mirrored(image: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` with CONTEXT px mirrored on each side, without repeating the edge (as the tiler does)."""
    return np.pad(image, ((0, 0), (CONTEXT, CONTEXT), (CONTEXT, CONTEXT)), mode="reflect")


def features_in_rows(padded: np.ndarray, y0: int, y1: int) -> np.ndarray:
    """Features ``(y1 - y0, W, F)`` of rows y0..y1 of the image that `padded` (from mirrored) extends."""
    return pixel_features(padded[:, y0:y1 + 2 * CONTEXT])[CONTEXT:-CONTEXT, CONTEXT:-CONTEXT]


def _labelled_features(image: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Features ``(n, F)`` of the labelled pixels (row-major order), made in strips of STRIP rows, so a big
    image never has all its features in memory at once."""
    padded, parts = mirrored(image), []
    for y0 in range(0, image.shape[1], STRIP):
        y1 = min(image.shape[1], y0 + STRIP)
        if labelled[y0:y1].any():
            parts.append(features_in_rows(padded, y0, y1)[labelled[y0:y1]])
    return np.concatenate(parts)


def _as_arrays(forest, n_classes: int) -> PixelForest:
    """The fitted scikit-learn forest's trees as padded arrays; classes it never saw get probability 0."""
    trees = [estimator.tree_ for estimator in forest.estimators_]
    nodes = max(tree.node_count for tree in trees)
    left = torch.full((len(trees), nodes), -1, dtype=torch.long)
    right, feature = left.clone(), torch.zeros((len(trees), nodes), dtype=torch.long)
    threshold = torch.zeros((len(trees), nodes), dtype=torch.float64)
    value = torch.zeros((len(trees), nodes, n_classes), dtype=torch.float32)
    columns = torch.as_tensor(forest.classes_, dtype=torch.long)
    for k, tree in enumerate(trees):
        n = tree.node_count
        left[k, :n], right[k, :n] = torch.from_numpy(tree.children_left), torch.from_numpy(tree.children_right)
        feature[k, :n] = torch.from_numpy(np.maximum(tree.feature, 0))
        threshold[k, :n] = torch.from_numpy(tree.threshold)
        counts = torch.from_numpy(tree.value[:, 0, :].astype(np.float32))
        value[k, :n, columns] = counts / counts.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return PixelForest(left, right, feature, threshold, value, max(int(forest.max_depth or 0),
                                                                    max(tree.max_depth for tree in trees)))
