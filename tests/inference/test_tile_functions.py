"""The tiler takes any tile function: plain callables, ONNX Runtime, flips; PredictConfig; the Predictor's engine."""

import numpy as np
import pytest
import torch

from unet_studio.core.errors import StudioError
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.onnx_tiles import OnnxTiles, onnx_problem
from unet_studio.inference.predictor import Predictor
from unet_studio.inference.tile_functions import FlipAveraged
from unet_studio.inference.tiling import predict_mask, predict_probabilities
from unet_studio.models import ModelConfig, build_model
from unet_studio.runtime import precision as policy

CLASSES = [{"value": 1, "name": "background", "color": None}, {"value": 2, "name": "cell", "color": None}]
NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}
FP32 = PredictConfig(64, 16, precision="fp32")


def tiny(arch="unet", padding="same", num_classes=2):
    torch.manual_seed(0)
    config = ModelConfig(arch=arch, num_classes=num_classes, depth=2, base_channels=4, padding=padding)
    return build_model(config).eval()


def image(shape=(1, 90, 70), seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


class Brightness:
    """A plain tile function: p(object) = the pixel value, with a 2-pixel margin and 4-pixel alignment."""

    margin, align = 2, 4

    def __init__(self):
        self.shapes = []

    def __call__(self, tile_input):
        self.shapes.append(tile_input.shape)
        inner = tile_input[0, 2:-2, 2:-2]
        return np.stack([1.0 - inner, inner]).astype(np.float32)


def test_any_callable_predicts_through_the_tiler_with_its_margin_and_alignment():
    function, pixels = Brightness(), image()
    probs = predict_probabilities(function, pixels, FP32)
    np.testing.assert_allclose(probs[1], pixels[0], atol=1e-6)
    assert all((h - 4) % 4 == 0 and (w - 4) % 4 == 0 for _, h, w in function.shapes)


def test_a_plain_function_without_attributes_is_margin_0_align_1():
    calls = []

    def half(tile_input):
        calls.append(tile_input.shape)
        return np.full((2, *tile_input.shape[1:]), 0.5, np.float32)

    probs = predict_probabilities(half, image((1, 50, 37)), PredictConfig(32, 8))
    assert probs.shape == (2, 50, 37) and np.allclose(probs, 0.5)
    assert set(calls) == {(1, 29, 23)}  # fitted tiles of any length: alignment 1


def test_flips_work_for_any_tile_function():
    pixels = image((1, 64, 64))
    plain = predict_probabilities(tiny(), pixels, PredictConfig(64, 0, precision="fp32"))
    flipped_by_hand = np.mean([
        np.flip(predict_probabilities(tiny(), np.flip(pixels, dims).copy(), PredictConfig(64, 0, precision="fp32")),
                dims) for dims in [(), (-1,), (-2,), (-2, -1)]], axis=0)
    tta = predict_probabilities(tiny(), pixels, PredictConfig(64, 0, tta=True, precision="fp32"))
    np.testing.assert_allclose(tta, flipped_by_hand, atol=1e-5)
    assert not np.allclose(plain, tta, atol=1e-6)
    assert FlipAveraged(Brightness()).margin == 2


@pytest.mark.parametrize("arch", ["unet", "unetpp", "attention-unet"])
@pytest.mark.parametrize("shape", [(1, 90, 70), (1, 5, 41)])
def test_onnx_runtime_predicts_like_torch(arch, shape):
    model, pixels = tiny(arch, num_classes=3), image(shape)
    expected = predict_probabilities(model, pixels, FP32)
    np.testing.assert_allclose(predict_probabilities(OnnxTiles(model), pixels, FP32), expected, atol=1e-5)


def test_onnx_runtime_streams_masks_too():
    model = tiny()
    raw = (image((120, 100, 1)) * 255).astype(np.uint8)
    torch_mask, _ = predict_mask(model, raw, ([0.0], [255.0]), FP32)
    onnx_mask, _ = predict_mask(OnnxTiles(model), raw, ([0.0], [255.0]), FP32)
    assert (onnx_mask != torch_mask).mean() < 1e-3


def test_valid_padding_stays_on_torch():
    assert "same" in onnx_problem(tiny(padding="valid"))
    with pytest.raises(StudioError, match="only 'same'-padded"):
        OnnxTiles(tiny(padding="valid"))


def test_predict_config_round_trips_and_refuses_bad_values():
    config = PredictConfig(256, 32, tta=True, precision="fp32", backend="torch")
    assert PredictConfig.from_dict(config.to_dict()) == config
    assert PredictConfig.from_dict({}) == PredictConfig()
    with pytest.raises(StudioError, match="unknown key"):
        PredictConfig.from_dict({"tiles": 3})
    for bad in ({"overlap": 600}, {"precision": "fp8"}, {"backend": "tensorrt"}):
        with pytest.raises(StudioError):
            PredictConfig(**bad)


def test_predictor_runs_onnx_runtime_where_the_cpu_runs_fp32(monkeypatch):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: False)
    model, raw = tiny(), (image((80, 60, 1)) * 255).astype(np.uint8)
    auto = Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16))
    plain = Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, backend="torch"))
    assert (auto.engine, plain.engine) == ("onnxruntime", "torch") and auto.precision.name == "fp32"
    np.testing.assert_allclose(auto.predict(raw).probabilities, plain.predict(raw).probabilities, atol=1e-5)
    with pytest.raises(StudioError, match="only 'same'-padded"):
        Predictor(tiny(padding="valid"), CLASSES, NORMALIZATION, device="cpu",
                  config=PredictConfig(64, 16, backend="onnxruntime"))


def test_predictor_keeps_torch_where_mixed_precision_was_chosen(monkeypatch):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: True)
    predictor = Predictor(tiny(), CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, precision="bf16"))
    assert predictor.engine == "torch" and "bf16" in predictor.engine_reason


def test_onnx_exports_are_cached_by_weights_and_a_damaged_file_is_redone(tmp_path, monkeypatch):
    monkeypatch.setenv("UNET_STUDIO_CACHE_DIR", str(tmp_path))
    model, pixels = tiny(), image((1, 40, 40))
    expected = predict_probabilities(OnnxTiles(model), pixels, FP32)
    files = list((tmp_path / "onnx").glob("*.onnx"))
    assert len(files) == 1
    monkeypatch.setattr("unet_studio.inference.onnx_tiles.onnx_bytes", no_export)
    np.testing.assert_allclose(predict_probabilities(OnnxTiles(model), pixels, FP32), expected)  # from the cache
    monkeypatch.undo()
    monkeypatch.setenv("UNET_STUDIO_CACHE_DIR", str(tmp_path))
    files[0].write_bytes(b"not an onnx model")
    np.testing.assert_allclose(predict_probabilities(OnnxTiles(model), pixels, FP32), expected)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    OnnxTiles(model)
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2  # other weights, another export


def no_export(*args):
    raise AssertionError("the export must come from the cache")
