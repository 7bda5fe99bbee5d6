"""The one precision policy: which float type a network runs in on a device, for training and prediction alike.

Per device, a mixed precision (bf16, fp16) is a candidate only where the hardware runs it natively (bf16 on a
CPU without AVX-512 BF16 / AMX is emulated and about ten times slower than fp32). Candidates are then timed
against fp32 by a short probe (a few forward/backward passes of a small U-Net-like stack, at most about
PROBE_BUDGET_S seconds) whose result is cached per machine and torch version in the user's
cache folder (:mod:`unet_studio.runtime.cache`). A mixed precision is chosen only when it measured at least
MIN_SPEEDUP times faster than fp32, so the chosen path is never slower than plain fp32.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from unet_studio.core.errors import StudioError
from unet_studio.runtime.probe import alternating_rounds, cached_seconds, one_thread, probe_key

PRECISIONS = ("fp32", "bf16", "fp16")
REQUESTS = ("auto", *PRECISIONS)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
PROBE_BUDGET_S = 2.0
PROBE_SHAPE = (1, 1, 128, 128)
SLOW_WARM_UP = 10.0
MIN_SPEEDUP = 1.05  # a mixed precision must beat fp32 by this factor (noise margin) to be chosen
CACHE_FILE = "precision.json"

Probe = Callable[[torch.device, Sequence[str]], dict[str, float]]


@dataclass(frozen=True)
class Precision:
    """A device type, the float type to run in ("fp32" | "bf16" | "fp16"), why, and the measured speed-up."""

    device_type: str
    name: str
    reason: str
    speedup: float | None = None

    @property
    def mixed(self) -> bool:
        return self.name != "fp32"

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    def autocast(self):
        """A fresh context manager running the block in this precision (autocast; nothing for fp32)."""
        if not self.mixed:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """fp16 gradients underflow without loss scaling; bf16 and fp32 need none."""
        return torch.amp.GradScaler(self.device_type) if self.name == "fp16" else None

    def describe(self) -> str:
        measured = f", {self.speedup:.2f}x fp32" if self.speedup is not None and self.mixed else ""
        return f"{self.name} ({self.reason}{measured})"


def _cpu_bf16_supported() -> bool:
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _cuda_bf16_supported(device: torch.device) -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch < 2.3 has no including_emulation
        return bool(torch.cuda.is_bf16_supported())


def hardware_support(device: torch.device) -> dict[str, str | None]:
    """For "bf16" and "fp16": None where ``device`` runs it natively, else a one-line reason why not."""
    kind = torch.device(device).type
    if kind == "cpu":
        return {"bf16": None if _cpu_bf16_supported() else "CPU has no native bf16 (AVX-512 BF16 / AMX)",
                "fp16": "not used on CPU (torch's CPU fp16 training measured 100x slower than fp32)"}
    if kind == "cuda":
        return {"bf16": None if _cuda_bf16_supported(device) else "GPU has no native bf16 (needs compute 8.0+)",
                "fp16": None}
    if kind == "mps":
        return {"bf16": "bf16 not used on MPS", "fp16": None}
    return {name: f"no mixed precision on {kind}" for name in ("bf16", "fp16")}


def _probe_network() -> nn.Module:
    """Convolutions shaped like the default U-Net's first two levels (16 and 32 channels, BN, ReLU)."""

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

    return nn.Sequential(*block(1, 16), *block(16, 16), nn.MaxPool2d(2), *block(16, 32), *block(32, 32),
                         nn.ConvTranspose2d(32, 16, 2, stride=2), *block(16, 16), nn.Conv2d(16, 2, 1))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_precisions(device: torch.device, names: Sequence[str],
                       budget_s: float = PROBE_BUDGET_S) -> dict[str, float]:
    """Median seconds of one forward + backward pass per precision (``names[0]`` is the reference, fp32),
    timed on one thread in alternating rounds until ``budget_s`` is spent; a precision that fails gets inf."""
    with one_thread():
        return _timed_rounds(device, names, budget_s)


def one_pass(model: nn.Module, x: torch.Tensor, precision: Precision) -> float:
    """Seconds of one forward + backward pass; inf when the precision fails on this device. A network with
    several outputs (U-Net++ with deep supervision, in training) back-propagates through all of them."""
    began = time.perf_counter()
    try:
        with precision.autocast():
            outputs = model(x)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            loss = sum(output.float().square().mean() for output in outputs)
        loss.backward()
        _synchronize(x.device)
    except RuntimeError:
        return float("inf")
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - began


def _timed_rounds(device: torch.device, names: Sequence[str], budget_s: float) -> dict[str, float]:
    """The first round is warm-up (kernel selection, weight reorders); a precision whose warm-up took over
    SLOW_WARM_UP times fp32's is not timed further (its warm-up time stands as its figure)."""
    torch.manual_seed(0)
    layout = torch.channels_last if device.type in ("cpu", "cuda") else torch.contiguous_format
    model = _probe_network().to(device=device, memory_format=layout)
    x = torch.randn(PROBE_SHAPE, device=device).contiguous(memory_format=layout)
    start = time.perf_counter()
    warm_up = {name: one_pass(model, x, Precision(device.type, name, "probe")) for name in names}
    timed = [name for name in names if warm_up[name] <= SLOW_WARM_UP * warm_up[names[0]]]
    passes = {name: partial(one_pass, model, x, Precision(device.type, name, "probe")) for name in timed}
    return {**warm_up, **alternating_rounds(passes, budget_s, since=start)}


def _measured(device: torch.device, names: list[str], probe: Probe) -> dict[str, float]:
    """Probe timings for ``names``, from the cache when this machine measured them before."""
    return cached_seconds(CACHE_FILE, probe_key(device), names, lambda: probe(device, names))


def choose_precision(device: torch.device | str, request: str = "auto", probe: Probe = measure_precisions) -> Precision:
    """The precision to run on ``device``: ``request`` "fp32", "bf16" or "fp16" is honoured (a mixed one
    only where supported, else StudioError); "auto" picks by hardware support and the cached probe."""
    device = torch.device(device)
    if request not in REQUESTS:
        raise StudioError(f"precision {request!r}", f"unknown precision, choose one of {', '.join(REQUESTS)}")
    if request == "fp32":
        return Precision(device.type, "fp32", "float32 requested")
    support = hardware_support(device)
    if request != "auto":
        if support[request] is not None:
            raise StudioError(f"precision {request!r}", support[request])
        return Precision(device.type, request, f"{request} requested")
    candidates = [name for name in ("bf16", "fp16") if support[name] is None]
    if not candidates:
        return Precision(device.type, "fp32", "; ".join(reason for reason in support.values() if reason))
    seconds = _measured(device, ["fp32", *candidates], probe)
    speedups = {name: seconds["fp32"] / seconds[name] for name in candidates if seconds[name] > 0}
    best = max(speedups, key=speedups.get)
    if speedups[best] >= MIN_SPEEDUP:
        return Precision(device.type, best, f"measured fastest on this {device.type}", round(speedups[best], 2))
    return Precision(device.type, "fp32", f"{best} measured {speedups[best]:.2f}x fp32: not faster",
                     round(speedups[best], 2))
