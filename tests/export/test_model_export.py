"""TorchScript and ONNX exports of a tiny checkpoint: outputs match the eager model, cards describe it."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from unet_studio.core.errors import StudioError
from unet_studio.core.checksums import file_sha256
from unet_studio.export.card import card_path
from unet_studio.export.model_export import export_onnx, export_torchscript
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model
from unet_studio.models.checkpoint import save_checkpoint

CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "nucleus", "color": "#ff0000"}]


def _checkpoint(path, arch="unet", padding="same"):
    torch.manual_seed(0)
    config = ModelConfig(arch=arch, in_channels=2, num_classes=2, depth=2, base_channels=4, padding=padding)
    model = build_model(config)
    with torch.no_grad():  # make the batch-norm statistics non-trivial
        for buffer in model.buffers():
            if buffer.is_floating_point():
                buffer.uniform_(0.5, 1.5)
    history = {"train_loss": [0.9, 0.5, float("nan")], "val_dice": [0.2, 0.6, 0.7]}
    return save_checkpoint(path, model, config, CLASSES, None, history, {"epochs": 3},
                           metrics={"dice": 0.7}), model.eval()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_matches_eager_at_any_size(tmp_path):
    checkpoint, model = _checkpoint(tmp_path / "m.pt")
    out = export_torchscript(checkpoint, tmp_path / "m.torchscript.pt", training_data=[("a.tif", "ab" * 32)])
    scripted = torch.jit.load(str(out))
    with torch.no_grad():
        x = torch.randn(2, 2, 29, 43)
        assert torch.allclose(scripted(x), model(x), atol=1e-4)
    card = json.loads(card_path(out).read_text())
    assert card["export"]["format"] == "torchscript" and card["export"]["sha256"] == file_sha256(out)
    assert card["training_data"] == [{"file": "a.tif", "sha256": "ab" * 32}]


@pytest.mark.parametrize("arch", ["unet", "attention-unet"])
def test_onnx_matches_eager_with_dynamic_size(tmp_path, arch):
    checkpoint, model = _checkpoint(tmp_path / "m.pt", arch)
    out = export_onnx(checkpoint, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 2, 8, 8), (3, 2, 37, 21)]:
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        (logits,) = session.run(None, {"image": x})
        with torch.no_grad():
            np.testing.assert_allclose(logits, model(torch.from_numpy(x)).numpy(), atol=1e-4)
    card = json.loads(card_path(out).read_text())
    assert card["architecture"]["arch"] == arch and card["architecture"]["base_channels"] == 4
    assert [c["name"] for c in card["classes"]] == ["background", "nucleus"]
    assert card["input"]["channels"] == 2 and card["input"]["dtype"] == "float32"
    assert card["output"]["channels"] == 2
    assert card["normalization"]["high"] == 99.5
    assert card["metrics"] == {"dice": 0.7}
    assert card["history"]["val_dice"] == {"count": 3, "last": 0.7, "min": 0.2, "max": 0.7}
    assert card["history"]["train_loss"]["last"] is None
    assert card["export"]["opset"] == 17 and card["export"]["max_abs_diff"] <= 1e-4
    assert card["unet_studio_version"] and card["created"]


def test_valid_padding_and_bad_checkpoint_are_refused(tmp_path):
    checkpoint, _ = _checkpoint(tmp_path / "v.pt", padding="valid")
    with pytest.raises(StudioError, match=r"v\.pt: only 'same'-padded models"):
        export_onnx(checkpoint, tmp_path / "v.onnx")
    with pytest.raises(StudioError, match=r"missing\.pt: file not found"):
        export_torchscript(tmp_path / "missing.pt", tmp_path / "b.pt")
    assert not (tmp_path / "v.onnx").exists() and not (tmp_path / "b.pt").exists()
