"""Overlap-tile prediction: seamless blending, odd sizes, valid padding, TTA, AMP, cancel, streaming."""

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from unet_studio.core.errors import StudioError
from unet_studio.core.normalize import normalize_with_range
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.tiling import (
    axis_starts,
    blend_window,
    predict_mask,
    predict_probabilities,
    tile_layout,
    window_1d,
)
from unet_studio.models import ModelConfig, build_model
from unet_studio.runtime.precision import hardware_support


def tiny_model(num_classes=2, padding="same", in_channels=1):
    torch.manual_seed(0)
    config = ModelConfig(in_channels=in_channels, num_classes=num_classes, depth=2, base_channels=4, padding=padding)
    return build_model(config).eval()


def random_image(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    tile_steps=st.integers(1, 12),
    overlap_fraction=st.floats(0, 0.5),
    align=st.sampled_from([1, 4, 16]),
)
def test_tiles_cover_and_weights_stay_positive(height, width, tile_steps, overlap_fraction, align):
    tile = max(8, tile_steps * align)
    overlap = int(tile * overlap_fraction)
    tile_h, tile_w, ys, xs = tile_layout(height, width, tile, overlap, align)
    assert tile_h <= tile and tile_w <= tile and tile_h % align == 0 and tile_w % align == 0
    assert all(y % align == 0 for y in ys) and all(x % align == 0 for x in xs)
    canvas_h, canvas_w = ys[-1] + tile_h, xs[-1] + tile_w
    assert height <= canvas_h < height + align and width <= canvas_w < width + align
    covered = np.zeros((canvas_h, canvas_w))
    window = blend_window(tile_h, tile_w, overlap)
    for y in ys:
        for x in xs:
            covered[y : y + tile_h, x : x + tile_w] += window
    assert (covered > 0).all()


def test_fitted_tiles_waste_less_than_full_tiles():
    tile_h, tile_w, ys, xs = tile_layout(1024, 1024, 512, 64, align=16)
    assert (tile_h, tile_w) == (384, 384) and len(ys) * len(xs) == 9
    assert tile_layout(100, 2048, 512, 64, align=16)[:2] == (112, 464)
    assert tile_layout(512, 512, 512, 64, align=16) == (512, 512, [0], [0])


@pytest.mark.parametrize(("tile", "overlap"), [(64, 32), (64, 16), (256, 64), (100, 0)])
def test_cosine_ramps_sum_to_one_between_tiles(tile, overlap):
    size = 5 * tile
    total = np.zeros(size)
    for start in axis_starts(size, tile, overlap)[:-1]:  # regular stride only
        total[start : start + tile] += window_1d(tile, overlap, floor=0.0)
    inner = total[tile : 4 * tile - overlap]
    np.testing.assert_allclose(inner, 1.0, atol=1e-6)


def test_bad_tile_settings_raise_one_line_error():
    with pytest.raises(StudioError, match="overlap 40"):
        tile_layout(100, 100, 64, 40)


def test_tiled_equals_whole_image_away_from_borders():
    model, image = tiny_model(3), random_image((1, 200, 150))
    whole = predict_probabilities(model, image, PredictConfig(512, 0, precision="fp32"))
    tiled = predict_probabilities(model, image, PredictConfig(64, 32, precision="fp32"))
    assert tiled.shape == (3, 200, 150) and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled[:, 24:-24, 24:-24], whole[:, 24:-24, 24:-24], atol=1e-5)
    np.testing.assert_allclose(tiled.sum(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("shape", [(61, 67), (5, 300), (1, 1), (130, 64)])
def test_output_shape_equals_input_for_odd_sizes(shape):
    probs = predict_probabilities(tiny_model(), random_image((1, *shape)), PredictConfig(64, 16, precision="fp32"))
    assert probs.shape == (2, *shape)


def test_valid_padding_model_gives_full_size_output():
    model = tiny_model(padding="valid")
    assert model.margin > 0
    image = random_image((1, 90, 77))
    tiled = predict_probabilities(model, image, PredictConfig(32, 16, precision="fp32"))
    whole = predict_probabilities(model, image, PredictConfig(128, 0, precision="fp32"))
    assert tiled.shape == (2, 90, 77)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)  # no padding artefacts anywhere: overlap-tile


def test_tta_is_flip_equivariant():
    model, image = tiny_model(), random_image((1, 64, 64))
    plain = predict_probabilities(model, image, PredictConfig(64, 0, precision="fp32"))
    tta = predict_probabilities(model, image, PredictConfig(64, 0, tta=True, precision="fp32"))
    flipped = predict_probabilities(model, image[:, :, ::-1].copy(), PredictConfig(64, 0, tta=True, precision="fp32"))
    np.testing.assert_allclose(flipped[:, :, ::-1], tta, atol=1e-5)
    assert not np.allclose(plain, tta, atol=1e-6)


@pytest.mark.skipif(hardware_support(torch.device("cpu"))["bf16"] is not None, reason="this CPU has no native bf16")
def test_bf16_autocast_agrees_with_fp32():
    model, image = tiny_model(3), random_image((1, 96, 80))
    fp32 = predict_probabilities(model, image, PredictConfig(64, 16, precision="fp32"))
    bf16 = predict_probabilities(model, image, PredictConfig(64, 16, precision="bf16"))
    np.testing.assert_allclose(bf16, fp32, atol=2e-2)


def test_progress_reports_every_tile_and_model_mode_is_restored():
    model = tiny_model().train()
    calls = []
    predict_probabilities(model, random_image((1, 100, 100)), PredictConfig(64, 32, precision="fp32"),
                          progress=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 9) for i in range(1, 10)]
    assert model.training


def test_stop_event_returns_none():
    stop = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        stop.set()

    image = random_image((1, 100, 100))
    assert predict_probabilities(tiny_model(), image, PredictConfig(64, 32), stop=stop, progress=progress) is None
    assert calls == [1]
    raw = (image[0, :, :, None] * 255).astype(np.uint8)
    assert predict_mask(tiny_model(), raw, ([0.0], [255.0]), PredictConfig(64, 32), stop=stop) is None


def test_streaming_mask_matches_whole_probabilities():
    model = tiny_model(in_channels=2)
    raw = (np.random.default_rng(1).random((150, 130, 2)) * 4000).astype(np.uint16)
    lo, hi = np.array([100.0, 0.0]), np.array([3900.0, 4000.0])
    probs = predict_probabilities(model, normalize_with_range(raw, lo, hi), PredictConfig(64, 32, precision="fp32"))
    mask, foreground = predict_mask(model, raw, (lo, hi), PredictConfig(64, 32, precision="fp32"), foreground="uint8")
    assert mask.dtype == np.uint8 and mask.shape == (150, 130)
    np.testing.assert_array_equal(mask, probs.argmax(axis=0))
    expected = np.rint((1 - probs[0]) * 255)
    assert np.abs(foreground.astype(int) - expected).max() <= 1
    thresholded, none = predict_mask(model, raw, (lo, hi), PredictConfig(64, 32, precision="fp32"), threshold=0.2)
    np.testing.assert_array_equal(thresholded, probs[1] >= 0.2)
    assert none is None
