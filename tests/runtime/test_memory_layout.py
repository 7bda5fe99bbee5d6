"""The training memory layout: measured on CPUs in float32 (faster layout differs by chip), by rule elsewhere."""

import json
import threading

import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.runtime import cache
from unet_studio.runtime import memory_layout
from unet_studio.runtime import precision as policy
from unet_studio.runtime.memory_layout import choose_layout, measure_layouts
from unet_studio.runtime.precision import Precision
from unet_studio.training.events import Log
from unet_studio.training.trainer import Trainer

FP32_CPU = Precision("cpu", "fp32", "test")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Every test here probes into its own empty cache folder."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


NETWORK, SHAPE = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU()), (1, 1, 32, 32)


def fixed_probe(seconds, calls=None):
    def probe(device, network, shape):
        if calls is not None:
            calls.append((device.type, shape))
        return dict(seconds)

    return probe


def no_probe(device, network, shape):
    raise AssertionError("the probe must not run")


def choose(precision, probe):
    return choose_layout(precision, NETWORK, SHAPE, probe)


def test_cpu_float32_takes_channels_last_where_it_measured_faster_and_caches_it(own_cache):
    calls = []
    choice = choose(FP32_CPU, fixed_probe({"channels_last": 0.1, "contiguous": 0.16}, calls))
    assert choice.name == "channels_last" and choice.memory_format == torch.channels_last
    assert choice.speedup == 1.6 and "measured 1.60x contiguous" in choice.describe()
    assert calls == [("cpu", SHAPE)]
    assert choose(FP32_CPU, no_probe).name == "channels_last"  # second call: from the cache
    stored = json.loads((own_cache / memory_layout.CACHE_FILE).read_text())
    assert [entry["seconds_per_step"] for entry in stored.values()] == [{"channels_last": 0.1, "contiguous": 0.16}]


def test_cpu_float32_stays_contiguous_unless_channels_last_is_clearly_faster():
    slower = choose(FP32_CPU, fixed_probe({"channels_last": 0.12, "contiguous": 0.1}))
    assert slower.name == "contiguous" and slower.memory_format == torch.contiguous_format
    assert "channels_last measured 0.83x contiguous" in slower.reason and "not faster" in slower.reason


def test_within_the_noise_margin_contiguous_is_kept():
    assert choose(FP32_CPU, fixed_probe({"channels_last": 0.1, "contiguous": 0.102})).name == "contiguous"


def test_cuda_and_cpu_bf16_train_channels_last_without_probing():
    assert choose(Precision("cpu", "bf16", ""), no_probe).memory_format == torch.channels_last
    assert choose(Precision("cuda", "fp32", ""), no_probe).memory_format == torch.channels_last
    assert choose(Precision("cuda", "fp16", ""), no_probe).memory_format == torch.channels_last
    assert choose(Precision("mps", "fp16", ""), no_probe).memory_format == torch.contiguous_format


def test_an_unreadable_cache_is_probed_again(own_cache):
    own_cache.mkdir(parents=True)
    (own_cache / memory_layout.CACHE_FILE).write_text("{not json")
    calls = []
    assert choose(FP32_CPU, fixed_probe({"channels_last": 0.1, "contiguous": 0.2}, calls)).name == "channels_last"
    assert len(calls) == 1


def test_each_network_shape_and_patch_size_is_measured_on_its_own(own_cache):
    calls = []
    probe = fixed_probe({"channels_last": 0.1, "contiguous": 0.2}, calls)
    wider = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU())
    for network, shape in ((NETWORK, SHAPE), (NETWORK, SHAPE), (NETWORK, (1, 1, 64, 64)), (wider, SHAPE)):
        choose_layout(FP32_CPU, network, shape, probe)
    assert calls == [("cpu", SHAPE), ("cpu", (1, 1, 64, 64)), ("cpu", SHAPE)]


def test_the_real_probe_is_short_times_both_layouts_and_leaves_the_network_alone():
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4)).eval()
    before = [p.detach().clone() for p in network.parameters()]
    seconds = measure_layouts(torch.device("cpu"), network, SHAPE, budget_s=0.05)
    assert set(seconds) == {"channels_last", "contiguous"} and all(0 < s < 2 for s in seconds.values())
    assert torch.get_num_threads() == 1  # the conftest's thread count is given back
    assert not network.training and all(torch.equal(a, b) for a, b in zip(before, network.parameters()))
    assert network[0].weight.is_contiguous() and network[0].weight.grad is None


def test_the_real_probe_times_a_network_with_several_outputs():
    """U-Net++ with deep supervision returns one output per head in training: all are back-propagated.
    (CPUs with bf16 never probe the layout, so this path is only taken on fp32-only CPUs unless tested.)"""
    from unet_studio.models.registry import build_model

    config = TINY_MODEL.__class__(**{**TINY_MODEL.to_dict(), "arch": "unetpp", "deep_supervision": True})
    seconds = measure_layouts(torch.device("cpu"), build_model(config), (1, 1, 32, 32), budget_s=0.05)
    assert set(seconds) == {"channels_last", "contiguous"} and all(0 < s < 2 for s in seconds.values())


@pytest.mark.parametrize("seconds, expected", [({"channels_last": 0.1, "contiguous": 0.2}, torch.channels_last),
                                               ({"channels_last": 0.2, "contiguous": 0.1}, torch.contiguous_format)])
def test_the_trainer_trains_in_the_measured_layout_and_logs_it(monkeypatch, tmp_path, seconds, expected):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: False)
    calls = []
    monkeypatch.setattr(memory_layout, "measure_layouts", fixed_probe(seconds, calls))
    trainer = Trainer(TINY_MODEL, tiny_config(max_steps=1), blob_items(), [], CLASSES, tmp_path / "m.pt")
    logs = [event.message for event in trainer.iter_fit(threading.Event()) if isinstance(event, Log)]
    assert trainer.layout == expected
    weight = next(p for p in trainer.model.parameters() if p.dim() == 4 and min(p.shape[:2]) > 1)
    assert weight.is_contiguous(memory_format=expected)
    name = "channels_last" if expected == torch.channels_last else "contiguous"
    assert any(message.startswith(f"memory layout: {name} (") for message in logs)
    patch = tiny_config().patch_size
    assert calls == [("cpu", (1, 1, patch, patch))]  # the network that trains, on one patch of its size
