"""Shared by the speed benchmarks: name the machine, and simulate a CPU without bf16 on one that has it.

``--cpu native`` runs as the machine is. ``--cpu no-bf16`` tells the precision policy the CPU has no native
bf16 (what it sees on most laptops), so every path takes its fp32 branch. ``--cpu avx2`` does that and also
caps torch's own kernels and oneDNN at AVX2 (``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2``,
set before torch loads, by re-running the script): the nearest this machine gets to a 2-core AVX2 laptop.
ONNX Runtime has no such switch, so its figures under ``avx2`` still use this CPU's AVX-512.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

CPU_MODES = ("native", "no-bf16", "avx2")
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def cpu_mode_from_argv() -> str:
    """The ``--cpu MODE`` (or ``--cpu=MODE``) of this command line, "native" without one."""
    for index, arg in enumerate(sys.argv):
        if arg.startswith("--cpu="):
            return arg.split("=", 1)[1]
        if arg == "--cpu" and index + 1 < len(sys.argv):
            return sys.argv[index + 1]
    return "native"


def reexec_for_cpu_mode() -> None:
    """Call before torch is imported: for ``--cpu avx2`` re-run this very command once with the ISA caps
    set and exit with its status; otherwise (or in that capped child) return at once."""
    if cpu_mode_from_argv() != "avx2" or all(os.environ.get(k) == v for k, v in AVX2_ENV.items()):
        return
    done = subprocess.run([sys.executable, *sys.argv], env={**os.environ, **AVX2_ENV}, check=False)
    sys.exit(done.returncode)


def apply_cpu_mode(mode: str) -> None:
    """Make the precision policy see a CPU without native bf16 (all modes but ``native``)."""
    if mode == "native":
        return
    from unet_studio.runtime import precision

    precision._cpu_bf16_supported = lambda: False


def machine(mode: str) -> dict:
    """The machine every figure was measured on: CPU model and features, threads, the simulated mode."""
    import torch

    from unet_studio.runtime.cpu import read_cpu_info

    cpu = read_cpu_info()
    features = [f for f in cpu.features if mode == "native" or "BF16" not in f]
    if mode == "avx2":
        features = [f for f in features if f in ("AVX2", "FMA")]
    peak_features = cpu.features if mode != "avx2" else ("AVX2",)
    peak = dataclasses.replace(cpu, features=tuple(peak_features))
    return {
        "cpu": cpu.model, "cores": cpu.cores, "mhz": cpu.mhz, "real_features": list(cpu.features),
        "half_width_vectors": cpu.half_width_vectors,
        "cpu_mode": mode, "features_as_run": features, "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "fp32_peak_gflops": peak.fp32_peak_gflops(torch.get_num_threads()), "load_average": os.getloadavg(),
    }
