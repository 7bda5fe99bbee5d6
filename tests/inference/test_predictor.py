"""Predictor: checkpoint round trip, full vs streamed paths, channel check, instances, cancel."""

import threading

import numpy as np
import pytest
import torch

from tests.conftest import make_blobs
from unet_studio.core.errors import StudioError
from unet_studio.core.normalize import normalize_for_network
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.predictor import Prediction, Predictor, fuse_conv_batchnorm
from unet_studio.inference.tiling import predict_probabilities
from unet_studio.models import ModelConfig, build_model
from unet_studio.models.checkpoint import save_checkpoint

CLASSES = [{"value": 1, "name": "background", "color": "#000000"}, {"value": 2, "name": "cell", "color": "#ff0000"}]
NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}


def tiny(in_channels=1, num_classes=2):
    torch.manual_seed(0)
    config = ModelConfig(in_channels=in_channels, num_classes=num_classes, depth=2, base_channels=4)
    return build_model(config).eval(), config


@pytest.fixture
def checkpoint_path(tmp_path):
    model, config = tiny()
    return save_checkpoint(tmp_path / "model.pt", model, config, CLASSES, NORMALIZATION, {}, {}, threshold=0.5)


def test_from_checkpoint_predicts_like_the_network(checkpoint_path):
    predictor = Predictor.from_checkpoint(checkpoint_path, device="cpu", config=PredictConfig(64, 16, precision="fp32"))
    assert predictor.threshold == 0.5 and predictor.in_channels == 1 and predictor.classes == CLASSES
    image, _ = make_blobs((70, 90))
    prediction = predictor.predict(image)
    assert isinstance(prediction, Prediction) and prediction.instances is None
    model, _ = tiny()
    expected = predict_probabilities(model, normalize_for_network(image[:, :, None]), PredictConfig(64, 16, precision="fp32"))
    np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(prediction.mask, expected[1] >= 0.5)
    assert prediction.mask.dtype == np.uint8 and prediction.mask.shape == (70, 90)


def test_large_images_stream_without_probabilities():
    model, _ = tiny(num_classes=3)
    image = np.random.default_rng(0).integers(0, 4000, (100, 120, 1), dtype=np.uint16)
    full = Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, precision="fp32"))
    streamed = Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, precision="fp32"),
                         max_probability_bytes=1000)
    full_result, streamed_result = full.predict(image, min_size=3), streamed.predict(image, min_size=3)
    assert full_result.probabilities.shape == (3, 100, 120) and streamed_result.probabilities is None
    np.testing.assert_array_equal(streamed_result.mask, full_result.mask)


def test_channel_mismatch_is_one_line_error():
    model, _ = tiny(in_channels=2)
    predictor = Predictor(model, CLASSES, NORMALIZATION, device="cpu", source="runs/nuclei.pt")
    with pytest.raises(StudioError) as caught:
        predictor.predict(np.zeros((32, 32, 3), np.uint8), source="cells/a.tif")
    message = str(caught.value)
    assert message == "cells/a.tif: image has 3 channel(s) but the model nuclei.pt expects 2"
    with pytest.raises(StudioError, match="expected an \\(H, W, C\\) image"):
        predictor.predict(np.zeros((2, 32, 32, 2), np.uint8))


def test_unknown_normalization_is_refused():
    model, _ = tiny()
    with pytest.raises(StudioError, match="m.pt: unknown normalization method 'zscore'"):
        Predictor(model, CLASSES, {"method": "zscore"}, device="cpu", source="m.pt")


def test_instances_returned_on_request():
    model, _ = tiny()
    predictor = Predictor(model, CLASSES, NORMALIZATION, threshold=0.0, device="cpu", config=PredictConfig(64, 16))
    prediction = predictor.predict(np.zeros((40, 40), np.uint8), instances=True)
    assert prediction.mask.all()  # threshold 0: every pixel is an object
    assert prediction.instances.dtype == np.uint16 and prediction.instances.max() >= 1
    assert (prediction.instances > 0).all()


@pytest.mark.parametrize("max_bytes", [10**9, 1000])
def test_stop_returns_none(max_bytes):
    model, _ = tiny()
    predictor = Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16),
                          max_probability_bytes=max_bytes)
    stop = threading.Event()
    stop.set()
    assert predictor.predict(np.zeros((100, 100), np.uint8), stop=stop) is None


def test_batchnorm_folding_keeps_outputs_and_leaves_the_original_alone():
    model, _ = tiny(num_classes=3)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # non-trivial running statistics
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    fused = fuse_conv_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    x = torch.rand(1, 1, 48, 40)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), model(x), atol=1e-5, rtol=1e-4)


def _bright() -> torch.nn.Module:
    """A 1x1 convolution giving foreground wherever the input is bright: the image's own bright shapes."""
    conv = torch.nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight[:] = torch.tensor([0.0, 20.0]).view(2, 1, 1, 1)
        conv.bias[:] = torch.tensor([0.0, -10.0])
    return torch.nn.Sequential(conv)


def test_instances_drop_specks_by_default_and_keep_them_on_request():
    yy, xx = np.mgrid[:64, :64]
    image = np.zeros((64, 64), np.uint8)
    image[(yy - 15) ** 2 + (xx - 15) ** 2 <= 36] = 255  # a round object of about 113 pixels
    image[40:43, 40:43] = 255  # a 9-pixel speck
    predictor = Predictor(_bright(), CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, precision="fp32"))
    assert predictor.predict(image, instances=True).instances.max() == 1
    assert predictor.predict(image, instances=True, min_size=0).instances.max() == 2
    assert predictor.predict(image).mask[41, 41] == 1  # plain masks keep everything
