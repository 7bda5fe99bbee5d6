"""What the CPU is and can do: model name, SIMD features that matter for convolutions, an fp32 peak estimate.

Read from /proc/cpuinfo on Linux (what `lscpu` reads), else from `platform`; torch's own view of the vector
unit (`torch.backends.cpu.get_cpu_capability()`) is kept beside it.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")

# /proc/cpuinfo flag -> the name people know it by. Order is the order `doctor` prints them in.
FEATURES = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512", "avx512_bf16": "AVX-512 BF16",
            "avx512_fp16": "AVX-512 FP16", "amx_bf16": "AMX BF16", "amx_fp16": "AMX FP16", "asimd": "NEON",
            "sve": "SVE"}

# fp32 FLOPs per cycle per core with two FMA units (FMA = 2 FLOPs): 16 lanes AVX-512, 8 AVX2, 4 NEON/SSE.
FLOPS_PER_CYCLE = {"AVX-512": 64, "AVX2": 32, "NEON": 16}

# AMD's first Zen cores (Zen and Zen+: CPU family 23, models below 0x30) run each 256-bit AVX2 instruction as
# two 128-bit halves, so their FMA units give half the FLOPs per cycle of later AVX2 cores.
ZEN1_FAMILY, ZEN2_FIRST_MODEL = 23, 0x30


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the operating system reports it; ``mhz`` is the nominal clock (0 when unknown)."""

    model: str
    features: tuple[str, ...]
    cores: int
    mhz: float
    torch_capability: str
    half_width_vectors: bool = False  # 128-bit FMA datapaths under AVX2 (Zen, Zen+)

    @property
    def has_native_bf16(self) -> bool:
        """AVX-512 BF16 or AMX: bf16 convolutions run in hardware rather than emulated."""
        return "AVX-512 BF16" in self.features or "AMX BF16" in self.features

    def fp32_peak_gflops(self, threads: int | None = None) -> float | None:
        """Theoretical fp32 peak of ``threads`` cores (default: all), or None without clock or vector unit."""
        widest = next((name for name in FLOPS_PER_CYCLE if name in self.features), None)
        if widest is None or self.mhz <= 0:
            return None
        cores = min(threads or self.cores, self.cores)
        per_cycle = FLOPS_PER_CYCLE[widest] // (2 if self.half_width_vectors else 1)
        return cores * self.mhz / 1000.0 * per_cycle

    def summary(self) -> str:
        """One line: model, cores, clock and the features that decide speed."""
        clock = f" @ {self.mhz / 1000:.1f} GHz" if self.mhz else ""
        features = ", ".join(self.features) or "no AVX2/AVX-512/NEON"
        if self.half_width_vectors:
            features += "; 128-bit FMA units"
        return f"{self.model} ({self.cores} cores{clock}; {features})"


def _parse_cpuinfo(text: str) -> tuple[str, set[str], float, bool]:
    """(model name, flags, MHz, half-width vectors) of the first processor block of /proc/cpuinfo."""
    model, flags, mhz, fields = "", set(), 0.0, {}
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key in ("vendor_id", "cpu family", "model"):
            fields.setdefault(key, value)
        if key == "model name" and not model:
            model = value
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
        elif key == "cpu MHz" and not mhz:
            try:
                mhz = float(value)
            except ValueError:
                mhz = 0.0
    return model, flags, mhz, _is_first_zen(fields)


def _is_first_zen(fields: dict[str, str]) -> bool:
    """True for AMD family 23 models before Zen 2 (their AVX2 runs on 128-bit units)."""
    try:
        family, model = int(fields.get("cpu family", "")), int(fields.get("model", ""))
    except ValueError:
        return False
    return fields.get("vendor_id") == "AuthenticAMD" and family == ZEN1_FAMILY and model < ZEN2_FIRST_MODEL


def read_cpu_info(cpuinfo: Path = CPUINFO) -> CpuInfo:
    """The CPU of this machine (features empty where the OS does not list flags)."""
    try:
        model, flags, mhz, half_width = _parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        model, flags, mhz, half_width = "", set(), 0.0, False
    if platform.machine().lower() in ("arm64", "aarch64") and not flags:
        flags = {"asimd"}  # every 64-bit ARM CPU has NEON; macOS has no /proc/cpuinfo
    features = tuple(name for flag, name in FEATURES.items() if flag in flags)
    return CpuInfo(model or platform.processor() or platform.machine() or "unknown CPU", features,
                   os.cpu_count() or 1, mhz, torch.backends.cpu.get_cpu_capability(), half_width)
