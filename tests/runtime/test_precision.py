"""The precision policy: hardware support first, then the cached probe; never a precision slower than fp32."""

import json
import threading

import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.core.errors import StudioError
from unet_studio.runtime import cache
from unet_studio.runtime import precision as policy
from unet_studio.runtime.precision import choose_precision, measure_precisions
from unet_studio.training.events import Log
from unet_studio.training.trainer import Trainer


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test here probes into its own empty cache folder."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def fixed_probe(seconds, calls=None):
    def probe(device, names):
        if calls is not None:
            calls.append((device.type, list(names)))
        return {name: seconds[name] for name in names}

    return probe


def no_probe(device, names):
    raise AssertionError("the probe must not run")


@pytest.fixture
def cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: False)


@pytest.fixture
def cpu_with_bf16(monkeypatch):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: True)


@pytest.fixture
def cuda_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Test GPU")
    return torch.device("cuda", 0)


def _matmul_dtype(choice):
    with choice.autocast():
        return (torch.ones(2, 2) @ torch.ones(2, 2)).dtype


def test_cpu_without_bf16_runs_fp32_without_probing(cpu_without_bf16):
    choice = choose_precision("cpu", probe=no_probe)
    assert choice.name == "fp32" and not choice.mixed
    assert "no native bf16" in choice.reason
    assert _matmul_dtype(choice) == torch.float32


def test_cpu_with_bf16_takes_it_when_measured_faster_and_caches_it(cpu_with_bf16, own_cache):
    calls = []
    choice = choose_precision("cpu", probe=fixed_probe({"fp32": 0.2, "bf16": 0.1}, calls))
    assert choice.name == "bf16" and choice.speedup == 2.0 and choice.grad_scaler() is None
    assert _matmul_dtype(choice) == torch.bfloat16
    assert calls == [("cpu", ["fp32", "bf16"])]
    assert choose_precision("cpu", probe=no_probe).name == "bf16"  # second call: from the cache
    stored = json.loads((own_cache / policy.CACHE_FILE).read_text())
    assert [entry["seconds_per_step"] for entry in stored.values()] == [{"fp32": 0.2, "bf16": 0.1}]
    assert "torch " + torch.__version__ in next(iter(stored))


def test_bf16_that_is_not_faster_is_refused(cpu_with_bf16):
    choice = choose_precision("cpu", probe=fixed_probe({"fp32": 0.1, "bf16": 0.102}))
    assert choice.name == "fp32"
    assert "bf16 measured 0.98x fp32: not faster" in choice.reason


def test_cuda_with_bf16_picks_the_fastest_measured(monkeypatch, cuda_device):
    monkeypatch.setattr(policy, "_cuda_bf16_supported", lambda device: True)
    calls = []
    choice = choose_precision(cuda_device, probe=fixed_probe({"fp32": 0.3, "bf16": 0.12, "fp16": 0.1}, calls))
    assert calls == [("cuda", ["fp32", "bf16", "fp16"])]
    assert choice.name == "fp16" and choice.device_type == "cuda"


def test_cuda_without_bf16_uses_fp16_with_loss_scaling(monkeypatch, cuda_device):
    monkeypatch.setattr(policy, "_cuda_bf16_supported", lambda device: False)
    choice = choose_precision(cuda_device, probe=fixed_probe({"fp32": 0.3, "fp16": 0.1}))
    assert choice.name == "fp16" and choice.dtype == torch.float16


def test_requests_are_honoured_or_refused_in_one_line(cpu_without_bf16):
    assert choose_precision("cpu", "fp32", probe=no_probe).reason == "float32 requested"
    with pytest.raises(StudioError, match="precision 'bf16': CPU has no native bf16"):
        choose_precision("cpu", "bf16")
    with pytest.raises(StudioError, match="unknown precision"):
        choose_precision("cpu", "fp8")


def test_an_unreadable_cache_is_probed_again(cpu_with_bf16, own_cache):
    own_cache.mkdir(parents=True)
    (own_cache / policy.CACHE_FILE).write_text("{not json")
    calls = []
    assert choose_precision("cpu", probe=fixed_probe({"fp32": 0.2, "bf16": 0.1}, calls)).name == "bf16"
    assert len(calls) == 1


def test_the_real_probe_is_short_and_measures_every_precision():
    seconds = measure_precisions(torch.device("cpu"), ["fp32"], budget_s=0.05)
    assert set(seconds) == {"fp32"} and 0 < seconds["fp32"] < 2
    assert torch.get_num_threads() == 1  # the conftest's thread count is given back


def test_trainer_logs_the_policy_choice(cpu_without_bf16, tmp_path):
    trainer = Trainer(TINY_MODEL, tiny_config(max_steps=1), blob_items(), [], CLASSES, tmp_path / "m.pt")
    logs = [event.message for event in trainer.iter_fit(threading.Event()) if isinstance(event, Log)]
    assert any(message.startswith("precision: fp32 (CPU has no native bf16") for message in logs)
    assert trainer.precision.name == "fp32"

