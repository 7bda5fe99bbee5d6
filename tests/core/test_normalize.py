"""Percentile ranges, network input and display scaling, including the degenerate cases."""

import time
import warnings

import numpy as np
import pytest

from tests.conftest import make_blobs
from unet_studio.core.normalize import normalize_for_network, normalize_with_range, percentile_range, to_display_uint8


def test_percentile_range_per_channel():
    pixels = np.stack([np.arange(1000).reshape(25, 40), np.arange(1000).reshape(25, 40) * 2 + 5], axis=-1)
    lo, hi = percentile_range(pixels, 0.0, 100.0)
    np.testing.assert_allclose(lo, [0, 5])
    np.testing.assert_allclose(hi, [999, 2003])
    lo, hi = percentile_range(pixels[..., 0])
    assert lo.shape == (1,) and lo[0] == pytest.approx(np.percentile(np.arange(1000), 0.5))


def test_percentile_range_ignores_non_finite_values():
    pixels = np.array([[np.nan, 1.0], [np.inf, 3.0], [-np.inf, 2.0]], np.float32)
    lo, hi = percentile_range(pixels, 0, 100)
    assert (lo[0], hi[0]) == (1.0, 3.0)
    lo, hi = percentile_range(np.full((4, 4), np.nan, np.float32))
    assert (lo[0], hi[0]) == (0.0, 0.0)


def test_percentile_range_is_cheap_and_close_on_large_images():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 60000, (4096, 4096), dtype=np.uint16)
    started = time.perf_counter()
    lo, hi = percentile_range(big)
    assert time.perf_counter() - started < 0.5
    assert abs(lo[0] - 300) < 150 and abs(hi[0] - 59700) < 150


def test_normalize_for_network_shape_dtype_and_range():
    image, mask = make_blobs((64, 48), dtype=np.uint16)
    out = normalize_for_network(np.dstack([image, image // 2]))
    assert out.shape == (2, 64, 48) and out.dtype == np.float32
    assert out.min() >= -0.5 and out.max() <= 1.5
    np.testing.assert_allclose(out[0], out[1], atol=1e-3)
    assert out[0][mask == 1].mean() > 0.7 and out[0][mask == 0].mean() < 0.4


def test_values_outside_the_range_are_clipped_softly():
    pixels = np.array([[-100.0, 0.0, 5.0, 10.0, 1000.0]])
    out = normalize_with_range(pixels, 0.0, 10.0)
    np.testing.assert_allclose(out[0, 0], [-0.5, 0.0, 0.5, 1.0, 1.5])


def test_non_finite_pixels_become_zero_without_warnings():
    pixels = np.array([[np.nan, np.inf, -np.inf, 2.0, 4.0]], np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalize_for_network(pixels, 0, 100)
    np.testing.assert_allclose(out[0, 0], [0, 0, 0, 0, 1])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_constant_image_gives_zeros_without_warnings(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = normalize_for_network(np.full((8, 8, 2), 7, dtype))
    assert out.shape == (2, 8, 8) and not out.any()


def test_tiles_normalised_with_shared_range_match_the_whole_image():
    image, _ = make_blobs((64, 64), dtype=np.uint16, seed=3)
    lo, hi = percentile_range(image)
    whole = normalize_with_range(image, lo, hi)
    np.testing.assert_array_equal(normalize_with_range(image[:32], lo, hi), whole[:, :32])
    np.testing.assert_array_equal(whole, normalize_for_network(image))


def test_display_lookup_table_matches_direct_formula():
    image = np.arange(0, 65536, 7, dtype=np.uint16)[:9000].reshape(90, 100)
    by_table = to_display_uint8(image, 1000, 50000, gamma=0.5)
    direct = to_display_uint8(image.astype(np.float64), 1000, 50000, gamma=0.5)
    assert by_table.dtype == np.uint8 and by_table.shape == image.shape
    np.testing.assert_array_equal(by_table, direct)
    assert by_table[0, 0] == 0 and by_table[-1, -1] == 255


def test_display_signed_bool_rgb_and_degenerate_range():
    signed = np.array([[-300, 0, 300]], np.int16)
    np.testing.assert_array_equal(to_display_uint8(signed, -300, 300), [[0, 128, 255]])
    np.testing.assert_array_equal(to_display_uint8(np.array([[False, True]]), 0, 1), [[0, 255]])
    rgb = np.dstack([np.full((2, 2), 10, np.uint8), np.full((2, 2), 20, np.uint8)])
    out = to_display_uint8(rgb, [0, 0], [10, 40])
    assert out.shape == (2, 2, 2) and out[0, 0, 0] == 255 and out[0, 0, 1] == 128
    np.testing.assert_array_equal(to_display_uint8(np.array([[1.0, 5.0, np.nan]]), 3, 3), [[0, 255, 0]])


def test_display_of_8k_16_bit_image_is_fast():
    row = np.random.default_rng(0).integers(0, 4096, (16, 8192), dtype=np.uint16)
    big = np.tile(row, (512, 1))
    started = time.perf_counter()
    out = to_display_uint8(big, 100, 4000)
    assert out.shape == big.shape and time.perf_counter() - started < 3.0  # the float path takes several seconds
