"""Device choice: auto picks the best usable device and the reason says why no GPU is used."""

import sys

import pytest
import torch

from unet_studio.core.errors import TrainingError
from unet_studio.runtime import device as device_module
from unet_studio.runtime.device import describe_devices, select_device


def test_auto_on_cpu_build_names_the_reason(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.version, "hip", None, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    choice = select_device("auto")
    assert choice.device == torch.device("cpu")
    assert "CUDA: not available, torch CPU build" in choice.reason
    assert "MPS: not on macOS" in choice.reason
    assert choice.available == ["cpu"]
    assert choice.notes == {"cuda": "CUDA: not available, torch CPU build", "mps": "MPS: not on macOS"}


def test_cuda_build_without_device_blames_the_driver(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto").notes["cuda"] == "CUDA: no device found (driver?)"


def test_asking_for_absent_cuda_raises_with_the_reason(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.version, "hip", None, raising=False)
    with pytest.raises(TrainingError, match="CUDA: not available, torch CPU build") as caught:
        select_device("cuda")
    assert "\n" not in str(caught.value)


def test_asking_for_mps_off_macos_raises(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(TrainingError, match="MPS: not on macOS"):
        select_device("mps")


def test_explicit_cpu_and_unknown_names():
    assert select_device("cpu").device.type == "cpu"
    assert select_device("cpu").reason == "CPU requested"
    with pytest.raises(TrainingError, match="unknown device"):
        select_device("tpu")


def test_auto_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(device_module, "_cuda_problem", lambda: None)
    monkeypatch.setattr(device_module, "_describe_cuda", lambda index: "CUDA: Test GPU (8 GiB)")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    choice = select_device("auto")
    assert choice.device == torch.device("cuda", 0)
    assert choice.available[0] == "cuda" and choice.reason == "CUDA: Test GPU (8 GiB)"


def test_describe_devices_lists_every_kind():
    lines = describe_devices()
    assert len(lines) == 3 and lines[-1].startswith("CPU: ")
    assert any(line.startswith("CUDA") for line in lines) and any(line.startswith("MPS") for line in lines)
