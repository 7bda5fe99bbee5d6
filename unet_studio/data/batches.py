"""Training batches as numpy arrays: sample a patch with context, augment it, crop it, weigh it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment import AugmentConfig, augment
from unet_studio.data.sampling import PatchSampler, TrainItem
from unet_studio.data.weights import BorderWeight


@dataclass(frozen=True)
class Batch:
    """images float32 (N,C,P+2m,P+2m), targets int64 (N,P,P) with -1 unlabelled, weights float32 or None."""

    images: np.ndarray
    targets: np.ndarray
    weights: np.ndarray | None


def count_labelled(items: Sequence[TrainItem]) -> np.ndarray:
    """Labelled pixels per class over all items: int64 array, entry k = pixels of training class k."""
    counts = np.zeros(0, np.int64)
    for item in items:
        labels = item.target[item.target >= 0]
        found = np.bincount(labels.ravel())
        if found.size > counts.size:
            counts = np.pad(counts, (0, found.size - counts.size))
        counts[: found.size] += found
    return counts


def labels_problem(present: Iterable[int]) -> str | None:
    """Why labels holding these network classes (0 = background, k = object class k) cannot train, in one
    line, or None: no labelled pixel, or only one class. The one rule behind the
    Train button (gui/training_settings.LabelCensus) and the Trainer (check_trainable)."""
    classes = sorted(set(int(k) for k in present))
    if not classes:
        return "no labelled pixels yet: label some background and objects first"
    if len(classes) == 1:
        what = "background" if classes[0] == 0 else f"class {classes[0]}"
        return f"only {what} is labelled: label background and at least one object class"
    return None


def check_trainable(items: Sequence[TrainItem]) -> np.ndarray:
    """count_labelled, raising TrainingError when there is nothing to learn from (labels_problem)."""
    counts = count_labelled(items)
    problem = labels_problem(np.flatnonzero(counts))
    if problem:
        raise TrainingError("training set", problem)
    return counts


class BatchSource:
    """Endless seeded batches from TrainItems for the Trainer (which converts them to torch)."""

    def __init__(
        self,
        items: Sequence[TrainItem],
        patch_size: int,
        batch_size: int,
        rng_seed: int,
        augment_config: AugmentConfig,
        margin: int = 0,
        border_weight: BorderWeight | None = None,
        labelled_bias: float = 0.9,
    ):
        self.counts = check_trainable(items)
        self._configure(patch_size, batch_size, rng_seed, augment_config, margin, border_weight)
        self.sampler = PatchSampler(items, patch_size, margin, self.rng, labelled_bias)

    def _configure(self, patch_size: int, batch_size: int, rng_seed: int, augment_config: AugmentConfig,
                   margin: int, border_weight: BorderWeight | None) -> None:
        """The settings every batch source shares, and its random stream (subclasses draw from it too)."""
        self.patch_size, self.batch_size, self.margin = int(patch_size), int(batch_size), int(margin)
        self.augment_config, self.border_weight = augment_config, border_weight
        self.rng = np.random.default_rng(rng_seed)

    def _window(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Image (C,h,w), target (h,w) and the top-left of the (P+2m) window in them (may be negative)."""
        return self.sampler.region(*self.sampler.centre())

    def _patch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        image, target, top, left = self._window()
        side = self.patch_size + 2 * self.margin
        image, target = augment(image, target, self.rng, self.augment_config, output_shape=(side, side),
                                origin=(top, left))
        weight = None
        if self.border_weight is not None:
            weight = self.border_weight.of(target)
        m, p = self.margin, self.patch_size
        centre = np.s_[m : m + p, m : m + p]
        return image, target[centre], None if weight is None else weight[centre]

    def next_batch(self) -> Batch:
        """N augmented patches; weight maps (when asked for) come from the augmented targets."""
        patches = [self._patch() for _ in range(self.batch_size)]
        images = np.stack([p[0] for p in patches])
        targets = np.stack([p[1] for p in patches])
        weights = None if self.border_weight is None else np.stack([p[2] for p in patches])
        return Batch(images, targets, weights)

    def __iter__(self):
        while True:
            yield self.next_batch()
