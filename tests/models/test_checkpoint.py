"""Checkpoints: plain-data round trip, atomic write, and refusal of anything that is not a checkpoint."""

import io
import os
import pickle

import pytest
import torch

from unet_studio.core.errors import ModelFileError
from unet_studio.models.config import ModelConfig
from unet_studio.models.registry import build_model
from unet_studio.models.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint, save_checkpoint

CONFIG = ModelConfig(in_channels=1, num_classes=3, depth=2, base_channels=4)
CLASSES = [{"value": 1, "name": "background", "color": "#000000"},
           {"value": 2, "name": "nucleus", "color": "#ff0000"},
           {"value": 3, "name": "membrane", "color": "#00ff00"}]


def _saved(tmp_path, **kwargs):
    torch.manual_seed(0)
    model = build_model(CONFIG)
    history = {"epochs": [1], "train_loss": [0.5], "images": [{"name": "a.tif", "sha256": "ab" * 32}]}
    path = save_checkpoint(tmp_path / "model.pt", model, CONFIG, CLASSES, None, history,
                           {"batch_size": 2}, **kwargs)
    return model, path


def test_round_trip_gives_identical_outputs(tmp_path):
    model, path = _saved(tmp_path, threshold=0.4, metrics={"mean_dice": 0.8})
    checkpoint = load_checkpoint(path)
    assert checkpoint.model_config == CONFIG
    assert checkpoint.classes == CLASSES
    assert checkpoint.normalization == {"method": "percentile", "low": 0.5, "high": 99.5}
    assert checkpoint.threshold == pytest.approx(0.4) and checkpoint.metrics == {"mean_dice": 0.8}
    assert checkpoint.history["images"][0]["name"] == "a.tif" and checkpoint.interrupted is False
    rebuilt = checkpoint.build_model()
    assert not rebuilt.training
    x = torch.rand(1, 1, 37, 41)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), rebuilt(x))


def test_saved_file_is_plain_data_with_cpu_float32_weights(tmp_path):
    model, path = _saved(tmp_path, interrupted=True)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["format"] == FORMAT and payload["format_version"] == FORMAT_VERSION
    assert payload["interrupted"] is True
    assert all(t.device.type == "cpu" and t.is_contiguous() for t in payload["state_dict"].values())
    assert all(t.dtype == torch.float32 for t in payload["state_dict"].values() if t.is_floating_point())
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_numpy_values_in_history_are_stored_as_plain_numbers(tmp_path):
    import numpy as np

    model = build_model(CONFIG)
    path = save_checkpoint(tmp_path / "m.pt", model, CONFIG, CLASSES, None,
                           {"train_loss": [np.float32(0.25)], "best": np.int64(3)}, {})
    assert load_checkpoint(path).history == {"train_loss": [0.25], "best": 3}


class _Payload:
    """Unpickling this would create a marker file: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("wrap_in_torch_save", [False, True])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, wrap_in_torch_save):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    if wrap_in_torch_save:
        buffer = io.BytesIO()
        torch.save({"format": FORMAT, "format_version": 1, "state_dict": _Payload(marker)}, buffer)
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError, match="refused") as caught:
        load_checkpoint(path)
    assert not marker.exists()
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def _torch_file(path, obj):
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda p: p, "file not found"),
    (lambda p: (p.write_bytes(b"not a torch file at all"), p)[1], "not a readable checkpoint|refused"),
    (lambda p: (p.write_bytes(b""), p)[1], "not a readable checkpoint"),
    (lambda p: _torch_file(p, {"weights": torch.zeros(2)}), "not a UNet Studio checkpoint"),
    (lambda p: _torch_file(p, [1, 2]), "not a UNet Studio checkpoint"),
    (lambda p: _torch_file(p, {"format": FORMAT, "format_version": FORMAT_VERSION + 1}), "newer than this app"),
    (lambda p: _torch_file(p, {"format": FORMAT, "format_version": 1}), "incomplete or damaged"),
    (lambda p: _torch_file(p, {"format": FORMAT, "format_version": 1, "model_config": {"arch": "vit"},
                               "classes": [], "state_dict": {}}), "unknown arch"),
])
def test_bad_files_raise_one_line_model_file_error(tmp_path, make, reason):
    path = make(tmp_path / "bad.pt")
    with pytest.raises(ModelFileError, match=reason) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))


def test_truncated_checkpoint_is_reported(tmp_path):
    _, path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    with pytest.raises(ModelFileError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config_are_reported(tmp_path):
    _, path = _saved(tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["base_channels"] = 8
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="weights do not fit"):
        load_checkpoint(path).build_model()


@pytest.mark.parametrize("content", [b"junk", b"PK\x03\x04garbage", b"\x80\x02", bytes(range(256)) * 4])
def test_damaged_files_are_one_line_model_file_errors(tmp_path, content):
    path = tmp_path / "damaged.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="damaged.pt") as caught:
        load_checkpoint(path)
    assert "\n" not in str(caught.value)


def _version_1_name(key: str) -> str:
    """The name format version 1 gave a U-Net weight (flat encoders/upsamplers/gates/decoders lists)."""
    parts = key.split(".")
    if parts[0] == "inc":
        return ".".join(["encoders", "0", *parts[1:]])
    if parts[0] == "downs":
        return ".".join(["encoders", str(int(parts[1]) + 1), *parts[3:]])
    if parts[0] == "ups":
        flat = {"up": "upsamplers", "gate": "gates", "conv": "decoders"}[parts[2]]
        return ".".join([flat, parts[1], *parts[3:]])
    return key


@pytest.mark.parametrize("arch", ["unet", "attention-unet"])
def test_a_version_1_checkpoint_loads_with_identical_outputs(tmp_path, arch):
    config = ModelConfig(arch=arch, in_channels=1, num_classes=2, depth=2, base_channels=4)
    torch.manual_seed(1)
    model = build_model(config).eval()
    old_state = {_version_1_name(k): v for k, v in model.state_dict().items()}
    assert "encoders.1.0.0.weight" in old_state and ("gates.0.coefficients.weight" in old_state) == (arch != "unet")
    path = save_checkpoint(tmp_path / "v2.pt", model, config, CLASSES[:2], None, {}, {})
    payload = torch.load(path, weights_only=True)
    payload.update(format_version=1, state_dict=old_state)
    torch.save(payload, tmp_path / "v1.pt")
    loaded = load_checkpoint(tmp_path / "v1.pt").build_model()
    x = torch.randn(1, 1, 40, 36)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
