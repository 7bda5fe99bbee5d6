"""Training patches from images bigger than memory: pixels read region by region from a lazy image (any
object with ``levels``, ``channels`` and ``read(level, y0, y1, x0, x1)``, such as io.ome_zarr's
MultiscaleImage) and labels from its core.chunked_labels store; neither is ever read whole.

Sampling follows data.sampling.PatchSampler: with probability ``labelled_bias`` a labelled class is chosen
uniformly, then a chunk weighted by its pixels of that class (the store's index counts them, so no chunk is
read to weigh it), then one of those pixels as the patch centre; otherwise a chunk weighted by its labelled
pixels and any pixel in it. The patch is read with ``context`` pixels around it for the warps of
data.augment, and the window shifted inside the image as PatchSampler does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.core.errors import TrainingError
from unet_studio.core.normalize import normalize_with_range, percentile_range
from unet_studio.data.augment import AugmentConfig, augment
from unet_studio.data.batches import BatchSource, labels_problem
from unet_studio.data.weights import border_weight_map

RANGE_PIXELS = 2**24  # the largest pyramid level read whole for the percentile range (4096 x 4096)


def intensity_range(image, low: float = 0.5, high: float = 99.5) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel percentiles of the finest level with at most RANGE_PIXELS pixels (level 0 if it fits):
    the range a lazy image is normalised with, in training and in streamed prediction alike."""
    level = next((i for i, (h, w) in enumerate(image.levels) if h * w <= RANGE_PIXELS), len(image.levels) - 1)
    height, width = image.levels[level]
    return percentile_range(image.read(level, 0, height, 0, width), low, high)


@dataclass(frozen=True)
class LazyTrainItem:
    """One big training image: its lazy pixels, its chunked labels and the normalisation range."""

    image: object
    labels: ChunkedLabels
    lo: np.ndarray
    hi: np.ndarray
    name: str = "image"

    @classmethod
    def open(cls, image, labels: ChunkedLabels, name: str = "image", low: float = 0.5, high: float = 99.5):
        if tuple(image.levels[0]) != tuple(labels.shape):
            raise TrainingError(name, f"labels are {labels.shape[0]} x {labels.shape[1]} but the image is "
                                      f"{image.levels[0][0]} x {image.levels[0][1]}")
        return cls(image, labels, *intensity_range(image, low, high), name)


class LazyBatchSource(BatchSource):
    """BatchSource's batches (same augmentation, crops and weights) from LazyTrainItems."""

    def __init__(self, items: Sequence[LazyTrainItem], patch_size: int, batch_size: int, rng_seed: int,
                 augment_config: AugmentConfig, margin: int = 0, border_weight: tuple[float, float] | None = None,
                 labelled_bias: float = 0.9, context: int | None = None):
        if not items:
            raise TrainingError("training set", "no training images")
        self.items = list(items)
        self.patch_size, self.batch_size, self.margin = int(patch_size), int(batch_size), int(margin)
        self.augment_config, self.border_weight = augment_config, border_weight
        self.labelled_bias = float(labelled_bias)
        self.context = (self.patch_size + 2 * self.margin) // 2 if context is None else int(context)
        self.rng = np.random.default_rng(rng_seed)
        self._chunks = [(i, key, counts) for i, item in enumerate(self.items)
                        for key, counts in item.labels.chunk_counts().items()]
        width = max((len(c) for _, _, c in self._chunks), default=1)
        table = np.array([np.pad(c, (0, width - len(c))) for _, _, c in self._chunks] or np.zeros((0, width)), np.int64)
        self.counts = table[:, 1:].sum(axis=0) if len(table) else np.zeros(0, np.int64)  # per network class
        problem = labels_problem(np.flatnonzero(self.counts))
        if problem:
            raise TrainingError("training set", problem)
        self._table = table
        self.classes = [int(k) for k in np.flatnonzero(self.counts)]

    def _centre(self) -> tuple[LazyTrainItem, int, int]:
        """An item and the (row, col) of level 0 the patch is centred on."""
        if self.rng.random() < self.labelled_bias:
            k = self.classes[self.rng.integers(len(self.classes))]
            values, weights = (k + 1,), self._table[:, k + 1]
        else:
            values, weights = tuple(range(1, self._table.shape[1])), self._table[:, 1:].sum(axis=1)
        index, (cy, cx), _ = self._chunks[int(self.rng.choice(len(self._chunks), p=weights / weights.sum()))]
        item = self.items[index]
        y0, y1, x0, x1 = item.labels.chunk_bounds(cy, cx)
        block = item.labels.read(y0, y1, x0, x1)
        picks = np.flatnonzero(np.isin(block, values))
        row, col = divmod(int(picks[self.rng.integers(picks.size)]), block.shape[1])
        return item, y0 + row, x0 + col

    def _window_start(self, centre: int, length: int) -> int:
        start = centre - self.patch_size // 2
        if length >= self.patch_size:
            start = min(max(start, 0), length - self.patch_size)
        return start - self.margin

    def _patch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        item, row, col = self._centre()
        height, width = item.labels.shape
        top, left = self._window_start(row, height), self._window_start(col, width)
        side, pad = self.patch_size + 2 * self.margin, self.context
        y0, y1 = max(0, top - pad), min(height, top + side + pad)
        x0, x1 = max(0, left - pad), min(width, left + side + pad)
        image = normalize_with_range(item.image.read(0, y0, y1, x0, x1), item.lo, item.hi)
        target = item.labels.read(y0, y1, x0, x1).astype(np.int64) - 1
        image, target = augment(image, target, self.rng, self.augment_config, output_shape=(side, side),
                                origin=(top - y0, left - x0))
        weight = None
        if self.border_weight is not None:
            weight = border_weight_map(target, w0=self.border_weight[0], sigma=self.border_weight[1])
        m, p = self.margin, self.patch_size
        centre = np.s_[m:m + p, m:m + p]
        return image, target[centre], None if weight is None else weight[centre]

