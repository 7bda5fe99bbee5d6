"""Random training patches that favour labelled pixels, balanced across classes (sparse scribbles included)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unet_studio.core.errors import TrainingError

# Per item and class at most this many labelled coordinates are kept (a random subset), bounding memory on
# densely labelled 8k images; scribbles keep every pixel.
MAX_COORDINATES_PER_CLASS = 200_000


@dataclass(frozen=True)
class TrainItem:
    """One training image: float32 (C,H,W) normalised pixels and its int64 (H,W) target in -1..K; `instances`
    (H,W) object ids (0 = none) where instance labels exist (validation images choose post-processing on them)."""

    image: np.ndarray
    target: np.ndarray
    name: str = "image"
    instances: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.image.ndim != 3:
            raise TrainingError(self.name, f"image must be (C, H, W), got shape {self.image.shape}")
        if self.target.shape != self.image.shape[1:]:
            raise TrainingError(
                self.name, f"annotation shape {self.target.shape} does not match image {self.image.shape[1:]}"
            )
        if self.instances is not None and self.instances.shape != self.target.shape:
            raise TrainingError(
                self.name, f"instance layer shape {self.instances.shape} does not match image {self.image.shape[1:]}"
            )


def _class_coordinates(
    target: np.ndarray, rng: np.random.Generator, limit: int
) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Flat indices of the labelled pixels of each class (at most `limit`, a random subset) and pixel counts."""
    flat = target.ravel()
    counts = np.bincount(np.maximum(flat, -1) + 1)[1:]
    coordinates, totals = {}, {}
    for value in np.flatnonzero(counts).tolist():
        group = np.flatnonzero(flat == value)
        if group.size > limit:
            group = np.sort(group[rng.choice(group.size, size=limit, replace=False)])
        coordinates[value], totals[value] = group, int(counts[value])
    return coordinates, totals


class PatchSampler:
    """Draws (image, target) crops from TrainItems; patch_size P is the target side, margin m the model's.

    With probability `labelled_bias` a class is chosen uniformly among the labelled classes, then an item
    weighted by its pixels of that class, and the patch is placed on one of them; otherwise an item is
    chosen weighted by its labelled pixels and the patch placed anywhere. The chosen pixel sits at the
    patch centre; on images larger than the patch the window is shifted to stay inside the image.
    """

    def __init__(
        self,
        items: Sequence[TrainItem],
        patch_size: int,
        margin: int = 0,
        rng: np.random.Generator | None = None,
        labelled_bias: float = 0.9,
    ):
        if not items:
            raise TrainingError("training set", "no training images")
        self.items = list(items)
        self.patch_size, self.margin, self.labelled_bias = int(patch_size), int(margin), float(labelled_bias)
        self.rng = rng if rng is not None else np.random.default_rng()
        found = [_class_coordinates(item.target, self.rng, MAX_COORDINATES_PER_CLASS) for item in self.items]
        self._coordinates = [coordinates for coordinates, _ in found]
        counts = [totals for _, totals in found]
        self.classes = sorted({k for c in counts for k in c})
        if not self.classes:
            raise TrainingError("training set", f"no labelled pixels in {len(self.items)} image(s)")
        self._class_item_p = {k: _normalised([c.get(k, 0) for c in counts]) for k in self.classes}
        self._item_p = _normalised([sum(c.values()) for c in counts])
        self.class_counts = np.zeros(max(self.classes) + 1, np.int64)  # labelled pixels per network class
        for totals in counts:
            for k, n in totals.items():
                self.class_counts[k] += n

    def centre(self) -> tuple[int, int, int]:
        """An item index and the (row, col) the target patch is centred on (the class rule above)."""
        if self.rng.random() < self.labelled_bias:
            return self.centre_on(self.classes[self.rng.integers(len(self.classes))])
        return self.centre_anywhere()

    def centre_on(self, k: int) -> tuple[int, int, int]:
        """An item weighted by its pixels of class k (one of self.classes) and one of those pixels."""
        index = int(self.rng.choice(len(self.items), p=self._class_item_p[k]))
        coords = self._coordinates[index][k]
        flat = int(coords[self.rng.integers(coords.size)])
        return (index, *divmod(flat, self.items[index].target.shape[1]))

    def centre_anywhere(self) -> tuple[int, int, int]:
        """An item weighted by its labelled pixels and any pixel of it."""
        index = int(self.rng.choice(len(self.items), p=self._item_p))
        h, w = self.items[index].target.shape
        return index, int(self.rng.integers(h)), int(self.rng.integers(w))

    def region(self, index: int, row: int, col: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The item's whole image and target, and the top-left (may be negative) of the (P+2m) window
        whose centre P x P patch is centred on (row, col): warps read real pixels all around it."""
        item = self.items[index]
        top = window_start(row, item.target.shape[0], self.patch_size) - self.margin
        left = window_start(col, item.target.shape[1], self.patch_size) - self.margin
        return item.image, item.target, top, left

    def sample_window(self) -> tuple[TrainItem, int, int]:
        """An item and the top-left (may be negative) of its (P+2m) x (P+2m) model-input window.

        The target patch is that window's centre P x P. Warps (augment with origin=) read real pixels
        from all around the window, so nothing is cropped or copied here.
        """
        index, row, col = self.centre()
        _, _, top, left = self.region(index, row, col)
        return self.items[index], top, left


def window_start(centre: int, length: int, patch_size: int) -> int:
    """Top/left of the patch_size window centred on `centre`, shifted inside [0, length) when it fits."""
    start = centre - patch_size // 2
    if length >= patch_size:
        start = min(max(start, 0), length - patch_size)
    return start


def _normalised(weights: Sequence[int]) -> np.ndarray:
    values = np.asarray(weights, np.float64)
    return values / values.sum()
