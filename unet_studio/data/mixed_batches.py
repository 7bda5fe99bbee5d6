"""Training batches from ordinary images (TrainItems, in memory) and big ones (data.lazy_patches.LazyTrainItem,
read region by region) in one stream, for the Trainer.

The rule is data.sampling.PatchSampler's over the union: with probability ``labelled_bias`` a class is
chosen uniformly among the classes labelled anywhere, then a sampler (the in-memory one, the lazy one)
weighted by its pixels of that class, which places the patch on one of them (an item, or a chunk of a big
image, weighted by those pixels); otherwise a sampler weighted by its labelled pixels. So every labelled
pixel weighs the same, wherever it is. With one kind of item only, the plain BatchSource or LazyBatchSource
is used, so runs on ordinary images draw the patches they always did.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.weights import BorderWeight
from unet_studio.data.batches import BatchSource, count_labelled, labels_problem
from unet_studio.data.lazy_patches import LazyBatchSource, LazyPatchSampler, LazyTrainItem
from unet_studio.data.sampling import PatchSampler


def is_lazy(item) -> bool:
    """Whether a training item is a big image read region by region."""
    return isinstance(item, LazyTrainItem)


def split_kinds(items: Sequence) -> tuple[list, list[LazyTrainItem]]:
    """(ordinary items, big items), each in the given order."""
    return [item for item in items if not is_lazy(item)], [item for item in items if is_lazy(item)]


def item_channels(item) -> int:
    return item.channels if is_lazy(item) else int(item.image.shape[0])


def class_counts(items: Sequence) -> np.ndarray:
    """Labelled pixels per network class over items of either kind (big ones from their chunk index)."""
    plain, lazy = split_kinds(items)
    parts = [item.class_counts() for item in lazy] + [count_labelled(plain)]
    counts = np.zeros(max(len(c) for c in parts), np.int64)
    for part in parts:
        counts[: len(part)] += part
    return counts


def check_items(train: Sequence, val: Sequence, model_config, where) -> np.ndarray:
    """Labelled pixels per class of `train`, after checking every item's channels and labels against
    `model_config` (a ModelConfig); TrainingError names the item (or `where`, the run's output, when there is
    none), or says why the labels cannot train (labels_problem)."""
    channels, k = model_config.in_channels, model_config.num_classes
    if not train:
        raise TrainingError(where, "no training images with labels")
    for item in filter(is_lazy, val):  # whole-image validation would read it whole
        raise TrainingError(item.name, "a big image cannot be a validation image (it is read region by region)")
    for item in list(train) + list(val):
        if item_channels(item) != channels:
            raise TrainingError(item.name, f"image has {item_channels(item)} channel(s), the model expects {channels}")
        top = len(np.trim_zeros(item.class_counts(), "b")) - 1 if is_lazy(item) else int(item.target.max(initial=-1))
        if top >= k:
            raise TrainingError(item.name, f"label {top + 1} is beyond the model's {k - 1} object class(es)")
    counts = class_counts(train)
    problem = labels_problem(np.flatnonzero(counts))
    if problem:
        raise TrainingError("training set", problem)
    return counts


def batch_source(items: Sequence, patch_size: int, batch_size: int, rng_seed: int, augment_config: AugmentConfig,
                 margin: int = 0, border_weight: BorderWeight | None = None) -> BatchSource:
    """The batch source for these items: BatchSource, LazyBatchSource or, with both kinds, MixedBatchSource."""
    plain, lazy = split_kinds(items)
    args = (patch_size, batch_size, rng_seed, augment_config, margin, border_weight)
    if not lazy:
        return BatchSource(plain, *args)
    if not plain:
        return LazyBatchSource(lazy, *args)
    return MixedBatchSource(plain, lazy, *args)


class MixedBatchSource(BatchSource):
    """BatchSource's batches from TrainItems and LazyTrainItems together (the rule in the module text)."""

    def __init__(self, items: Sequence, lazy_items: Sequence[LazyTrainItem], patch_size: int, batch_size: int,
                 rng_seed: int, augment_config: AugmentConfig, margin: int = 0,
                 border_weight: BorderWeight | None = None, labelled_bias: float = 0.9):
        self._configure(patch_size, batch_size, rng_seed, augment_config, margin, border_weight)
        self.labelled_bias = float(labelled_bias)
        self.samplers = [PatchSampler(items, patch_size, margin, self.rng, labelled_bias),
                         LazyPatchSampler(lazy_items, patch_size, margin, self.rng, labelled_bias)]
        self.counts = class_counts([*items, *lazy_items])
        problem = labels_problem(np.flatnonzero(self.counts))
        if problem:
            raise TrainingError("training set", problem)
        self.classes = [int(k) for k in np.flatnonzero(self.counts)]

    def _window(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        if self.rng.random() < self.labelled_bias:
            k = self.classes[self.rng.integers(len(self.classes))]
            weights = np.array([s.class_counts[k] if k < len(s.class_counts) else 0 for s in self.samplers], float)
            sampler = self.samplers[int(self.rng.choice(len(self.samplers), p=weights / weights.sum()))]
            return sampler.region(*sampler.centre_on(k))
        weights = np.array([s.class_counts.sum() for s in self.samplers], float)
        sampler = self.samplers[int(self.rng.choice(len(self.samplers), p=weights / weights.sum()))]
        return sampler.region(*sampler.centre_anywhere())
