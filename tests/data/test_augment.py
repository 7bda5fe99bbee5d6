"""augment(): image, labels and weights stay aligned under every geometric transform; intensity is image-only."""

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest

from unet_studio.data.augment import PRESET_NAMES, AugmentConfig, augment, crop_window

NONE = AugmentConfig.preset("none")
GEOMETRIC = {
    "affine": replace(NONE, affine_p=1.0),
    "elastic": replace(NONE, elastic_p=1.0),
    "affine+elastic+dihedral": replace(NONE, affine_p=1.0, elastic_p=1.0, flip_p=0.5, rot90_p=0.5),
    "strong": replace(AugmentConfig.preset("strong"), gamma_p=0, noise_p=0, intensity_p=0, affine_p=1, elastic_p=1),
}


def _block_labels(shape, block=7, n_labels=4):
    """Checkerboard-like labels -1..n_labels-2 in blocks, so -1 (unlabelled) regions are present too."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy // block + 2 * (xx // block)) % n_labels - 1).astype(np.int64)


def _coordinate_image(shape):
    """Two channels holding each pixel's own x and y: linear interpolation reads them back exactly."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    return np.stack([xx, yy])


@pytest.mark.parametrize("name", GEOMETRIC)
@pytest.mark.parametrize("seed", range(6))
def test_labels_follow_the_pixels_they_came_from(name, seed):
    """Image channels carry source x, y; a weight of ones (zero outside) tells in-source pixels apart."""
    shape = (53, 61)
    image, target = _coordinate_image(shape), _block_labels(shape)
    ones = np.ones(shape, np.float32)
    out_image, out_target, out_ones = augment(image, target, np.random.default_rng(seed), GEOMETRIC[name], ones)
    sx, sy = out_image
    inside, outside = out_ones > 0.999, out_ones < 0.001
    assert inside.mean() > 0.3
    assert (out_target[outside] == -1).all()
    floor_y, floor_x = np.floor(sy).astype(int), np.floor(sx).astype(int)
    neighbours = [
        target[np.clip(floor_y + dy, 0, shape[0] - 1), np.clip(floor_x + dx, 0, shape[1] - 1)]
        for dy, dx in itertools.product((0, 1), (0, 1))
    ]
    assert np.any([out_target == n for n in neighbours], axis=0)[inside].all()
    nearest = target[np.rint(sy).astype(int).clip(0, shape[0] - 1), np.rint(sx).astype(int).clip(0, shape[1] - 1)]
    assert (out_target == nearest)[inside].mean() > 0.97


def test_pixels_from_outside_become_unlabelled_and_the_image_is_reflected():
    target = np.ones((64, 64), np.int64)
    image = np.ones((1, 64, 64), np.float32)
    config = replace(NONE, affine_p=1.0, rotation_deg=45.0, scale_range=(0.8, 0.8))
    rng = np.random.default_rng(3)
    out_image, out_target = augment(image, target, rng, config)
    assert (out_target == -1).any() and (out_target == 1).any()
    assert out_target[28:36, 28:36].min() == 1
    np.testing.assert_allclose(out_image, 1.0, atol=1e-5)


def _dihedral_variants(array):
    for turns, flip_y, flip_x in itertools.product(range(4), (False, True), (False, True)):
        out = np.rot90(array, turns, axes=(-2, -1))
        out = out[..., ::-1, :] if flip_y else out
        yield (turns, flip_y, flip_x), (out[..., ::-1] if flip_x else out)


def test_flips_and_quarter_turns_are_exact_and_shared():
    target = _block_labels((16, 16), block=3)
    image = (target[None] + 1).astype(np.float32) / 3.0  # pixel values encode their own label
    config = replace(NONE, flip_p=0.5, rot90_p=0.75)
    seen = set()
    for seed in range(40):
        out_image, out_target = augment(image, target, np.random.default_rng(seed), config)
        targets = dict(_dihedral_variants(target))
        hits = [k for k, v in _dihedral_variants(image) if np.array_equal(v, out_image)]
        assert any(np.array_equal(targets[k], out_target) for k in hits)
        seen.add(hits[0])
    assert len(seen) >= 4


def test_non_square_patches_keep_their_shape():
    image, target = np.random.default_rng(0).random((2, 12, 20), dtype=np.float32), _block_labels((12, 20))
    for seed in range(10):
        out_image, out_target = augment(image, target, np.random.default_rng(seed), AugmentConfig.preset("strong"))
        assert out_image.shape == (2, 12, 20) and out_target.shape == (12, 20)


def test_same_seed_same_output_and_dtypes():
    gen = np.random.default_rng(0)
    image, target = gen.random((3, 40, 40), dtype=np.float32), _block_labels((40, 40))
    weight = gen.random((40, 40), dtype=np.float32)
    config = AugmentConfig.preset("strong")
    first = augment(image, target, np.random.default_rng(7), config, weight=weight)
    second = augment(image, target, np.random.default_rng(7), config, weight=weight)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert [a.dtype for a in first] == [np.float32, np.int64, np.float32]
    assert all(a.flags["C_CONTIGUOUS"] for a in first)
    assert first[0].shape == (3, 40, 40) and first[2].shape == (40, 40)
    assert first[1].min() >= -1 and first[1].max() <= 2


def test_intensity_transforms_change_only_the_image():
    gen = np.random.default_rng(1)
    image, target = gen.random((1, 32, 32), dtype=np.float32), _block_labels((32, 32))
    config = replace(NONE, gamma_p=1.0, noise_p=1.0, intensity_p=1.0)
    out_image, out_target = augment(image, target, np.random.default_rng(2), config)
    np.testing.assert_array_equal(out_target, target)
    assert not np.allclose(out_image, image)
    assert np.isfinite(out_image).all()


def test_output_window_at_origin_is_a_crop_with_padding():
    image = np.arange(2 * 20 * 30, dtype=np.float32).reshape(2, 20, 30)
    target = _block_labels((20, 30))
    weight = np.full((20, 30), 2.0, np.float32)
    out = augment(image, target, np.random.default_rng(0), NONE, weight=weight, output_shape=(8, 9), origin=(4, 6))
    np.testing.assert_array_equal(out[0], image[:, 4:12, 6:15])
    np.testing.assert_array_equal(out[1], target[4:12, 6:15])
    out = augment(image, target, np.random.default_rng(0), NONE, weight=weight, output_shape=(8, 8), origin=(-3, 25))
    assert (out[1][:3] == -1).all() and (out[1][:, 5:] == -1).all() and (out[2][:3] == 0).all()
    np.testing.assert_array_equal(out[1][3:, :5], target[:5, 25:])
    np.testing.assert_array_equal(out[0][:, 2, 0], image[:, 1, 25])  # mirrored about row 0


def test_warped_window_reads_real_pixels_around_the_origin():
    """A rotated 30x30 window in the middle of an 80x80 image pulls every pixel from inside the image."""
    image, target = _coordinate_image((80, 80)), _block_labels((80, 80))
    ones = np.ones((80, 80), np.float32)
    config = replace(NONE, affine_p=1.0, rotation_deg=45.0)
    rng = np.random.default_rng(4)
    out_image, _, out_ones = augment(image, target, rng, config, ones, output_shape=(30, 30), origin=(25, 25))
    np.testing.assert_allclose(out_ones, 1.0)
    assert np.abs(out_image.mean(axis=(1, 2)) - 39.5).max() < 6  # still centred on the window centre


def test_crop_window_mirrors_or_fills():
    array = np.arange(5 * 5).reshape(5, 5)
    assert np.shares_memory(crop_window(array, 1, 1, (3, 3), fill=None), array)
    np.testing.assert_array_equal(crop_window(array, -2, 0, (4, 2), fill=None)[:, 0], [10, 5, 0, 5])
    np.testing.assert_array_equal(crop_window(array, 3, 3, (3, 3), fill=-1)[2], [-1, -1, -1])


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_presets_round_trip_through_json(name):
    config = AugmentConfig.preset(name)
    assert AugmentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_default_preset_is_the_default_config_and_bad_settings_are_refused():
    assert AugmentConfig.preset("default") == AugmentConfig()
    with pytest.raises(ValueError, match="flip_p"):
        AugmentConfig(flip_p=1.5)
    with pytest.raises(ValueError, match="scale_range"):
        AugmentConfig(scale_range=(1.2, 0.9))
    with pytest.raises(ValueError, match="unknown augmentation settings: blur"):
        AugmentConfig.from_dict({"blur": 1})
    with pytest.raises(ValueError, match="unknown augmentation preset"):
        AugmentConfig.preset("extreme")
