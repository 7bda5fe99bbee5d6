"""3-D training patches: sampled on labelled voxels (class-balanced, as data/sampling.py in 2-D), augmented
with flips in z, y and x, quarter turns in the x-y plane and the 2-D intensity jitter, batched as numpy.

Sparse labels are the normal case: planes nobody labelled are -1 in the target and the loss ignores them,
so a patch centred on a labelled plane still learns from its unlabelled neighbours' pixels as context.
Elastic and affine warps are left out: in 3-D they cost more than the network's step on this CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment import _intensity
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.batches import Batch, check_trainable
from unet_studio.data.sampling import MAX_COORDINATES_PER_CLASS, _class_coordinates, _normalised
from unet_studio.data.volume import VolumeItem


def mirrored(start: int, length: int, size: int) -> np.ndarray:
    """Indices start..start+length-1 reflected into 0..size-1 (windows past the volume's edge)."""
    index = np.arange(start, start + length)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.mod(index, period)
    return np.where(index >= size, period - index, index)


def window_start(centre: int, length: int, size: int) -> int:
    """Start of the `length` window centred on `centre`, shifted inside an axis of `size` when it fits."""
    start = centre - length // 2
    return min(max(start, 0), size - length) if size >= length else start


def augment_volume(image: np.ndarray, target: np.ndarray, rng: np.random.Generator,
                   config: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Flips (each of z, y, x with flip_p), a quarter turn in x-y (rot90_p; square patches keep their shape)
    and the intensity jitter of 2-D training on a (C, D, P, P) patch and its (D, P, P) target."""
    for axis in (-3, -2, -1):
        if rng.random() < config.flip_p:
            image, target = np.flip(image, axis), np.flip(target, axis)
    if rng.random() < config.rot90_p and image.shape[-1] == image.shape[-2]:
        turns = int(rng.integers(1, 4))
        image, target = np.rot90(image, turns, axes=(-2, -1)), np.rot90(target, turns, axes=(-2, -1))
    image = _intensity(np.ascontiguousarray(image, np.float32), rng, config)
    return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(target, np.int64)


class VolumePatchSampler:
    """(D, P, P) windows of VolumeItems: with probability `labelled_bias` centred on a labelled voxel of a
    class chosen uniformly, else on a random voxel of an item weighted by its labelled voxels."""

    def __init__(self, items: Sequence[VolumeItem], patch_size: int, patch_depth: int,
                 rng: np.random.Generator, labelled_bias: float = 0.9):
        if not items:
            raise TrainingError("training set", "no training volumes")
        self.items, self.rng, self.labelled_bias = list(items), rng, float(labelled_bias)
        self.shape = (int(patch_depth), int(patch_size), int(patch_size))
        found = [_class_coordinates(item.target, rng, MAX_COORDINATES_PER_CLASS) for item in self.items]
        self._coordinates = [coordinates for coordinates, _ in found]
        counts = [totals for _, totals in found]
        self.classes = sorted({k for c in counts for k in c})
        if not self.classes:
            raise TrainingError("training set", f"no labelled voxels in {len(self.items)} volume(s)")
        self._class_item_p = {k: _normalised([c.get(k, 0) for c in counts]) for k in self.classes}
        self._item_p = _normalised([sum(c.values()) for c in counts])

    def _centre(self) -> tuple[VolumeItem, tuple[int, ...]]:
        if self.rng.random() < self.labelled_bias:
            k = self.classes[self.rng.integers(len(self.classes))]
            index = int(self.rng.choice(len(self.items), p=self._class_item_p[k]))
            coords = self._coordinates[index][k]
            flat = int(coords[self.rng.integers(coords.size)])
            return self.items[index], tuple(int(v) for v in np.unravel_index(flat, self.items[index].target.shape))
        item = self.items[int(self.rng.choice(len(self.items), p=self._item_p))]
        return item, tuple(int(self.rng.integers(size)) for size in item.target.shape)

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """A (C, D, P, P) image window and its (D, P, P) target, mirrored past the volume's edges."""
        item, centre = self._centre()
        index = [mirrored(window_start(c, length, size), length, size)
                 for c, length, size in zip(centre, self.shape, item.target.shape)]
        grid = np.ix_(*index)
        return item.image[(slice(None), *grid)], item.target[grid]


class VolumeBatchSource:
    """Endless seeded batches of augmented 3-D patches for the VolumeTrainer: images float32
    (N, C, D, P, P), targets int64 (N, D, P, P) with -1 unlabelled, no weight maps."""

    def __init__(self, items: Sequence[VolumeItem], patch_size: int, patch_depth: int, batch_size: int,
                 rng_seed: int, augment_config: AugmentConfig, labelled_bias: float = 0.9):
        self.counts = check_trainable(items)
        self.patch_size, self.patch_depth, self.batch_size = int(patch_size), int(patch_depth), int(batch_size)
        self.augment_config = augment_config
        self.rng = np.random.default_rng(rng_seed)
        self.sampler = VolumePatchSampler(items, patch_size, patch_depth, self.rng, labelled_bias)

    def next_batch(self) -> Batch:
        """N augmented patches."""
        patches = [augment_volume(*self.sampler.sample(), self.rng, self.augment_config)
                   for _ in range(self.batch_size)]
        return Batch(np.stack([p[0] for p in patches]), np.stack([p[1] for p in patches]), None)
