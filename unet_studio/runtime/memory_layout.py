"""The memory layout a network trains in: measured on CPUs in float32, by rule everywhere else.

channels_last is what cuDNN and oneDNN's bf16 kernels want, so CUDA and CPU bf16 always train in it. For CPU
float32 the faster layout depends on the chip and on the network: the default U-Net trained 1.17x faster
contiguous than channels_last on an AVX2-capped Intel Xeon (Sapphire Rapids) but 1.4x faster channels_last on
an AMD EPYC (Zen 4) with AVX-512, and the tests' tiny network on 64 x 64 patches was 0.85x in channels_last
there (benchmarks/train_speed.py, README Measured). So a short probe times the network about to train, on one
patch of its size, in both layouts (one thread, at most about LAYOUT_BUDGET_S seconds after a warm-up), once
per machine, torch version and network shape, cached in the user's cache folder. channels_last is taken only
when it measured at least MIN_SPEEDUP times faster; contiguous stays the float32 default.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from unet_studio.runtime.precision import MIN_SPEEDUP, Precision, one_pass
from unet_studio.runtime.probe import alternating_rounds, cached_seconds, one_thread, probe_key

FORMATS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format,
           "channels_last_3d": torch.channels_last_3d}
LAYOUTS = ("channels_last", "contiguous")  # what the probe compares (2-D networks)
LAYOUT_BUDGET_S = 1.0
CACHE_FILE = "memory_layout.json"

LayoutProbe = Callable[[torch.device, nn.Module, tuple[int, ...]], dict[str, float]]


@dataclass(frozen=True)
class Layout:
    """The memory layout to train in, why, and (when measured) channels_last's speed over contiguous."""

    name: str
    reason: str
    speedup: float | None = None

    @property
    def memory_format(self) -> torch.memory_format:
        return FORMATS[self.name]

    def describe(self) -> str:
        return f"{self.name} ({self.reason})"


def measure_layouts(device: torch.device, network: nn.Module, shape: tuple[int, ...],
                    budget_s: float = LAYOUT_BUDGET_S) -> dict[str, float]:
    """Median seconds of one float32 forward + backward pass of a copy of ``network`` on an input of ``shape``
    per layout, on one thread (relative speed per core, far less hurt by a busy machine), in alternating rounds
    after a warm-up round; ``network`` itself is left as it was."""
    with one_thread():
        torch.manual_seed(0)
        x = torch.randn(shape, device=device)
        fp32 = Precision(device.type, "fp32", "probe")
        copies = {name: copy.deepcopy(network).to(device=device, memory_format=FORMATS[name]).train()
                  for name in LAYOUTS}
        passes = {name: partial(one_pass, copies[name], x.contiguous(memory_format=FORMATS[name]), fp32)
                  for name in LAYOUTS}
        for run in passes.values():
            run()  # warm-up: kernel selection and weight reorders
        return alternating_rounds(passes, budget_s, since=time.perf_counter())


def network_key(network: nn.Module, shape: tuple[int, ...]) -> str:
    """What else the layout's speed depends on: the network's parameter shapes and the input shape."""
    shapes = [(name, tuple(p.shape)) for name, p in network.named_parameters()]
    digest = hashlib.sha1(repr((type(network).__name__, shapes)).encode()).hexdigest()[:12]
    return f"{type(network).__name__} {digest} on {'x'.join(map(str, shape))}"


def _measured(device: torch.device, network: nn.Module, shape: tuple[int, ...],
              probe: LayoutProbe | None) -> dict[str, float]:
    """The probe's seconds per layout, from the cache when this machine measured this network before."""
    return cached_seconds(CACHE_FILE, f"{probe_key(device)} | {network_key(network, shape)}", LAYOUTS,
                          lambda: (probe or measure_layouts)(device, network, shape))


def choose_layout(precision: Precision, network: nn.Module, shape: tuple[int, ...],
                  probe: LayoutProbe | None = None) -> Layout:
    """The layout to train ``network`` in on inputs of ``shape`` (one patch: 1, C, H, W) under ``precision``:
    measured for CPU float32 (see the module text; ``probe`` defaults to measure_layouts), channels_last on
    CUDA and in CPU bf16, contiguous on other devices."""
    if precision.device_type == "cuda" or (precision.device_type == "cpu" and precision.mixed):
        return Layout("channels_last", f"{precision.device_type} {precision.name}")
    if precision.device_type != "cpu":
        return Layout("contiguous", f"{precision.device_type} default")
    seconds = _measured(torch.device("cpu"), network, shape, probe)
    return measured_layout(seconds["contiguous"] / seconds["channels_last"] if seconds["channels_last"] > 0 else 0.0)


def measured_layout(speedup: float) -> Layout:
    """The CPU float32 layout for a measured channels_last speed-up over contiguous."""
    if speedup >= MIN_SPEEDUP:
        return Layout("channels_last", f"measured {speedup:.2f}x contiguous in float32 on this cpu", round(speedup, 2))
    return Layout("contiguous", f"channels_last measured {speedup:.2f}x contiguous in float32 on this cpu: not faster",
                  round(speedup, 2))
