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
from unet_studio.data.augment import AugmentConfig
from unet_studio.data.batches import BatchSource, labels_problem
from unet_studio.data.sampling import window_start
from unet_studio.data.weights import BorderWeight

RANGE_PIXELS = 2**24  # the largest pyramid level read whole for the percentile range (4096 x 4096)


SAMPLE_SIDE = 512  # without a small enough level, the range comes from a grid of windows this wide


def intensity_range(image, low: float = 0.5, high: float = 99.5) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel percentiles of the finest level with at most RANGE_PIXELS pixels (level 0 if it fits):
    the range a lazy image is normalised with, in training and in streamed prediction alike. An image
    without such a level (a big TIFF with no pyramid) is sampled in a grid of windows of its coarsest
    level, RANGE_PIXELS in all, never read whole."""
    level = next((i for i, (h, w) in enumerate(image.levels) if h * w <= RANGE_PIXELS), len(image.levels) - 1)
    height, width = image.levels[level]
    if height * width <= RANGE_PIXELS:
        return percentile_range(image.read(level, 0, height, 0, width), low, high)
    side_y, side_x = min(SAMPLE_SIDE, height), min(SAMPLE_SIDE, width)
    n = max(1, int(np.sqrt(RANGE_PIXELS / (side_y * side_x))))
    windows = [image.read(level, y, y + side_y, x, x + side_x)
               for y in np.linspace(0, height - side_y, n).astype(int) for x in np.linspace(0, width - side_x, n).astype(int)]
    return percentile_range(np.concatenate(windows, axis=0), low, high)


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

    @property
    def channels(self) -> int:
        return int(self.image.channels)

    def class_counts(self) -> np.ndarray:
        """Labelled pixels per network class (entry k = annotation value k + 1), from the store's index."""
        return _table(list(self.labels.chunk_counts().values()))[:, 1:].sum(axis=0)


class LazyPatchSampler:
    """data.sampling.PatchSampler's rule and interface (centre, centre_on, centre_anywhere, region,
    class_counts) over LazyTrainItems: chunks stand where PatchSampler has items, weighed by the index's
    counts, and only the chosen chunk's labels and the patch's region are read."""

    def __init__(self, items: Sequence[LazyTrainItem], patch_size: int, margin: int, rng: np.random.Generator,
                 labelled_bias: float = 0.9, context: int | None = None):
        if not items:
            raise TrainingError("training set", "no training images")
        self.items = list(items)
        self.patch_size, self.margin, self.rng = int(patch_size), int(margin), rng
        self.labelled_bias = float(labelled_bias)
        self.context = (self.patch_size + 2 * self.margin) // 2 if context is None else int(context)
        found = [(i, key, counts) for i, item in enumerate(self.items)
                 for key, counts in item.labels.chunk_counts().items()]
        self._chunks = [(i, key) for i, key, _ in found]
        self._table = _table([counts for _, _, counts in found])
        self.class_counts = self._table[:, 1:].sum(axis=0)  # per network class
        self.classes = [int(k) for k in np.flatnonzero(self.class_counts)]

    def centre(self) -> tuple[int, int, int]:
        if self.rng.random() < self.labelled_bias:
            return self.centre_on(self.classes[self.rng.integers(len(self.classes))])
        return self.centre_anywhere()

    def centre_on(self, k: int) -> tuple[int, int, int]:
        """A chunk weighted by its pixels of network class k, and one of those pixels."""
        return self._pick((k + 1,), self._table[:, k + 1])

    def centre_anywhere(self) -> tuple[int, int, int]:
        """A chunk weighted by its labelled pixels, and any labelled pixel of it."""
        return self._pick(tuple(range(1, self._table.shape[1])), self._table[:, 1:].sum(axis=1))

    def _pick(self, values: tuple[int, ...], weights: np.ndarray) -> tuple[int, int, int]:
        index, (cy, cx) = self._chunks[int(self.rng.choice(len(self._chunks), p=weights / weights.sum()))]
        y0, y1, x0, x1 = self.items[index].labels.chunk_bounds(cy, cx)
        block = self.items[index].labels.read(y0, y1, x0, x1)
        picks = np.flatnonzero(np.isin(block, values))
        if not picks.size:  # repainted since the index was read: any labelled pixel, else the chunk's centre
            picks = np.flatnonzero(block) if block.any() else np.array([block.size // 2])
        row, col = divmod(int(picks[self.rng.integers(picks.size)]), block.shape[1])
        return index, y0 + row, x0 + col

    def region(self, index: int, row: int, col: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The normalised pixels and the targets of a region of level 0 around the (P+2m) window centred on
        (row, col), with `context` pixels each side (clipped at the image), and the window's top-left in it."""
        item = self.items[index]
        height, width = item.labels.shape
        top = window_start(row, height, self.patch_size) - self.margin
        left = window_start(col, width, self.patch_size) - self.margin
        side, pad = self.patch_size + 2 * self.margin, self.context
        y0, y1 = max(0, top - pad), min(height, top + side + pad)
        x0, x1 = max(0, left - pad), min(width, left + side + pad)
        image = normalize_with_range(item.image.read(0, y0, y1, x0, x1), item.lo, item.hi)
        target = item.labels.read(y0, y1, x0, x1).astype(np.int64) - 1
        return image, target, top - y0, left - x0


class LazyBatchSource(BatchSource):
    """BatchSource's batches (same augmentation, crops and weights) from LazyTrainItems."""

    def __init__(self, items: Sequence[LazyTrainItem], patch_size: int, batch_size: int, rng_seed: int,
                 augment_config: AugmentConfig, margin: int = 0, border_weight: BorderWeight | None = None,
                 labelled_bias: float = 0.9, context: int | None = None):
        self._configure(patch_size, batch_size, rng_seed, augment_config, margin, border_weight)
        self.sampler = LazyPatchSampler(items, patch_size, margin, self.rng, labelled_bias, context)
        self.counts = self.sampler.class_counts
        problem = labels_problem(self.sampler.classes)
        if problem:
            raise TrainingError("training set", problem)


def _table(counts: Sequence[np.ndarray]) -> np.ndarray:
    """Per-value pixel counts (one row each, as ChunkedLabels.chunk_counts gives them) padded to one width."""
    width = max((len(c) for c in counts), default=1)
    return np.array([np.pad(c, (0, width - len(c))) for c in counts], np.int64).reshape(len(counts), width)
