"""Choose the torch device for training and say plainly why a GPU is or is not used."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import torch

from unet_studio.core.errors import TrainingError

PREFERENCES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    """The device picked, a one-line reason, the usable device names and why the others are not usable."""

    device: torch.device
    reason: str
    available: list[str]
    notes: dict[str, str] = field(default_factory=dict)


def _cuda_problem() -> str | None:
    """Why CUDA cannot be used, or None when it can."""
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return "CUDA: not available, torch CPU build"
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        return "CUDA: no device found (driver?)"
    return None


def _mps_problem() -> str | None:
    """Why Apple's MPS backend cannot be used, or None when it can."""
    if sys.platform != "darwin":
        return "MPS: not on macOS"
    if not torch.backends.mps.is_built():
        return "MPS: torch built without MPS support"
    if not torch.backends.mps.is_available():
        return "MPS: not available (needs Apple silicon and macOS 12.3+)"
    return None


def _survey() -> tuple[list[str], dict[str, str]]:
    """Usable device names in order of preference, and a note for each unusable one."""
    notes = {name: problem for name, problem in (("cuda", _cuda_problem()), ("mps", _mps_problem())) if problem}
    available = [name for name in ("cuda", "mps") if name not in notes] + ["cpu"]
    return available, notes


def _describe_cuda(index: int) -> str:
    props = torch.cuda.get_device_properties(index)
    return f"CUDA: {props.name} ({props.total_memory / 2**30:.0f} GiB)"


def _cpu_line() -> str:
    capability = torch.backends.cpu.get_cpu_capability()
    return f"CPU: {os.cpu_count() or 1} cores, {torch.get_num_threads()} torch threads, {capability}"


def select_device(preference: str = "auto") -> DeviceChoice:
    """Pick CUDA > MPS > CPU for "auto"; an explicit GPU that is absent raises TrainingError with the reason."""
    available, notes = _survey()
    kind, _, index_text = preference.partition(":")
    if kind not in PREFERENCES or (index_text and (kind != "cuda" or not index_text.isdigit())):
        raise TrainingError(f"device {preference!r}", f"unknown device, choose one of {', '.join(PREFERENCES)}")
    if kind == "auto":
        kind = available[0]
    if kind == "cpu":
        why_not = "; ".join(notes.values()) or "CPU requested"
        reason = why_not if preference == "auto" else "CPU requested"
        return DeviceChoice(torch.device("cpu"), reason, available, notes)
    if kind in notes:
        raise TrainingError(f"device {preference!r}", notes[kind])
    if kind == "cuda":
        index = int(index_text or 0)
        if index >= torch.cuda.device_count():
            raise TrainingError(f"device {preference!r}", f"CUDA: only {torch.cuda.device_count()} device(s) found")
        return DeviceChoice(torch.device("cuda", index), _describe_cuda(index), available, notes)
    return DeviceChoice(torch.device("mps"), "MPS: Apple GPU", available, notes)


def describe_devices() -> list[str]:
    """One line per device kind (usable or not, and why) for the GUI's device menu and `unet-studio info`."""
    available, notes = _survey()
    lines = []
    if "cuda" in available:
        lines += [_describe_cuda(i) for i in range(torch.cuda.device_count())]
    else:
        lines.append(notes["cuda"])
    lines.append("MPS: Apple GPU" if "mps" in available else notes["mps"])
    lines.append(_cpu_line())
    return lines
