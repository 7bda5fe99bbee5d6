"""PatchSampler: patches land on labelled pixels, rare classes get their share, small images are padded."""

import numpy as np
import pytest

from unet_studio.core.errors import TrainingError
from unet_studio.data import sampling
from unet_studio.data.augment import crop_window
from unet_studio.data.sampling import PatchSampler, TrainItem


def _patch(sampler):
    """The un-augmented patch at the sampler's next window: image (C, P+2m, P+2m), target (P, P) (-1 outside)."""
    item, top, left = sampler.sample_window()
    side, m = sampler.patch_size + 2 * sampler.margin, sampler.margin
    image = crop_window(item.image, top, left, (side, side), fill=None)
    target = crop_window(item.target, top + m, left + m, (sampler.patch_size, sampler.patch_size), fill=-1)
    return np.array(image, np.float32), np.array(target, np.int64)


def _scribbles(shape=(200, 200)):
    """Mostly unlabelled: 5 pixels of class 1 in one corner, 50 of background far away."""
    target = np.full(shape, -1, np.int64)
    target[20, 20:25] = 1
    target[150, 100:150] = 0
    image = np.random.default_rng(0).random((1, *shape), dtype=np.float32)
    return TrainItem(image, target, "scribbles.tif")


def test_patches_land_on_labels_and_rare_classes_get_half_the_draws():
    sampler = PatchSampler([_scribbles()], patch_size=32, rng=np.random.default_rng(0), labelled_bias=1.0)
    targets = [_patch(sampler)[1] for _ in range(400)]
    assert all((t >= 0).any() for t in targets)
    with_rare = np.mean([(t == 1).any() for t in targets])
    assert 0.4 < with_rare < 0.6


def test_without_bias_patches_go_anywhere():
    sampler = PatchSampler([_scribbles()], patch_size=32, rng=np.random.default_rng(1), labelled_bias=0.0)
    empty = np.mean([(_patch(sampler)[1] == -1).all() for _ in range(300)])
    assert empty > 0.5


def test_items_are_drawn_in_proportion_to_their_labelled_pixels():
    def item(name, n_labelled):
        target = np.full((40, 40), -1, np.int64)
        target.ravel()[:n_labelled] = np.arange(n_labelled) % 2
        return TrainItem(np.zeros((1, 40, 40), np.float32), target, name)

    items = [item("many", 300), item("few", 100), item("none", 0)]
    sampler = PatchSampler(items, patch_size=16, rng=np.random.default_rng(2), labelled_bias=0.0)
    names = [sampler.sample_window()[0].name for _ in range(2000)]
    assert names.count("none") == 0
    assert names.count("many") / names.count("few") == pytest.approx(3.0, rel=0.2)


def test_small_image_is_mirrored_and_unlabelled_outside():
    target = np.arange(10 * 12).reshape(10, 12) % 3
    image = target[None].astype(np.float32)  # pixel values encode their own label
    sampler = PatchSampler([TrainItem(image, target, "small.png")], 32, margin=4, rng=np.random.default_rng(3))
    for _ in range(20):
        patch, patch_target = _patch(sampler)
        assert patch.shape == (1, 40, 40) and patch.dtype == np.float32
        assert patch_target.shape == (32, 32) and patch_target.dtype == np.int64
        assert (patch_target == -1).sum() == 32 * 32 - 10 * 12
        centre = patch[0, 4:36, 4:36]
        labelled = patch_target >= 0
        np.testing.assert_array_equal(centre[labelled], patch_target[labelled])
        assert set(np.unique(patch)) <= {0.0, 1.0, 2.0}


def test_dense_targets_keep_a_bounded_coordinate_list(monkeypatch):
    monkeypatch.setattr(sampling, "MAX_COORDINATES_PER_CLASS", 50)
    target = (np.arange(100 * 100).reshape(100, 100) % 7 == 0).astype(np.int64)
    sampler = PatchSampler([TrainItem(np.zeros((1, 100, 100), np.float32), target)], 16, rng=np.random.default_rng(4))
    coordinates = sampler._coordinates[0]
    assert sorted(coordinates) == [0, 1] and all(c.size == 50 for c in coordinates.values())
    assert all((target.ravel()[c] == k).all() for k, c in coordinates.items())
    assert sampler.classes == [0, 1]


def test_same_seed_same_patches():
    def draw(seed):
        sampler = PatchSampler([_scribbles()], 24, margin=2, rng=np.random.default_rng(seed))
        return [_patch(sampler) for _ in range(5)]

    for (a_img, a_t), (b_img, b_t) in zip(draw(9), draw(9)):
        np.testing.assert_array_equal(a_img, b_img)
        np.testing.assert_array_equal(a_t, b_t)


def test_bad_items_raise_one_line_training_errors():
    with pytest.raises(TrainingError, match=r"^cells/a.tif: annotation shape \(5, 5\) does not match"):
        TrainItem(np.zeros((1, 4, 4), np.float32), np.zeros((5, 5), np.int64), "cells/a.tif")
    with pytest.raises(TrainingError, match="no labelled pixels in 1 image"):
        PatchSampler([TrainItem(np.zeros((1, 4, 4), np.float32), np.full((4, 4), -1))], 8)
    with pytest.raises(TrainingError, match="no training images"):
        PatchSampler([], 8)
