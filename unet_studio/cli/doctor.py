"""`unet-studio doctor`: what this machine is, what the app will run on, and how fast the default model is."""

from __future__ import annotations

import argparse
import json
import platform

import onnxruntime
import torch

from unet_studio.inference.config import PredictConfig
from unet_studio.runtime.cpu import read_cpu_info
from unet_studio.runtime.device import describe_devices, select_device
from unet_studio.runtime.precision import hardware_support


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="print the CPU, GPUs, torch build, chosen precision and measured speed")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--no-speed", action="store_true", help="skip the speed measurement (a few seconds)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=run)


def machine_report(device_preference: str = "auto", measure: bool = True) -> dict:
    """Everything `doctor` prints, as plain data."""
    cpu = read_cpu_info()
    choice = select_device(device_preference)
    config = PredictConfig()
    report = {
        "cpu": {"model": cpu.model, "cores": cpu.cores, "mhz": cpu.mhz, "features": list(cpu.features),
                "half_width_vectors": cpu.half_width_vectors, "native_bf16": cpu.has_native_bf16,
                "torch_capability": cpu.torch_capability,
                "fp32_peak_gflops": cpu.fp32_peak_gflops(torch.get_num_threads())},
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": {"version": torch.__version__, "cuda": torch.version.cuda, "mkldnn": torch.backends.mkldnn.is_available()},
        "onnxruntime": onnxruntime.__version__,
        "devices": describe_devices(),
        "device": {"chosen": str(choice.device), "reason": choice.reason},
        "mixed_precision_support": {name: why or "native" for name, why in hardware_support(choice.device).items()},
    }
    if measure:
        from unet_studio.training.speed_check import check_speed  # imports the models: only when measuring

        speed = check_speed(choice.device, config)
        report["precision"] = speed.precision
        report["speed"] = speed.to_dict()
    return report


def _lines(report: dict) -> list[str]:
    cpu, torch_info = report["cpu"], report["torch"]
    clock = f" @ {cpu['mhz'] / 1000:.1f} GHz" if cpu["mhz"] else ""
    peak = f", fp32 peak ~{cpu['fp32_peak_gflops']:.0f} GFLOP/s on {report['threads']} threads" \
        if cpu["fp32_peak_gflops"] else ""
    lines = [
        f"CPU: {cpu['model']} ({cpu['cores']} cores{clock}{peak})",
        f"  features: {', '.join(cpu['features']) or 'none of AVX2/AVX-512/NEON'}"
        f"{' (on 128-bit FMA units)' if cpu['half_width_vectors'] else ''}; "
        f"native bf16: {'yes' if cpu['native_bf16'] else 'no'}; torch kernels: {cpu['torch_capability']}",
        f"torch {torch_info['version']} ({'CUDA ' + torch_info['cuda'] if torch_info['cuda'] else 'CPU build'}, "
        f"oneDNN {'on' if torch_info['mkldnn'] else 'off'}), {report['threads']} threads; "
        f"ONNX Runtime {report['onnxruntime']}; Python {report['python']}",
        "devices:", *(f"  {line}" for line in report["devices"]),
        f"using: {report['device']['chosen']} ({report['device']['reason']})",
        "mixed precision: " + "; ".join(f"{k}: {v}" for k, v in report["mixed_precision_support"].items()),
    ]
    speed = report.get("speed")
    if speed:
        model = speed["model"]
        lines += [
            f"default model: {model['arch']} depth {model['depth']}, {model['base_channels']} base channels",
            f"  precision {speed['precision']}, prediction engine {speed['engine']}",
            f"  training memory layout: {speed['layout']}",
            f"  training 256x256, batch 4: {speed['train_patches_per_s']:.1f} patches/s "
            f"({speed['train_gflops']:.0f} GFLOP/s)",
            f"  prediction 1024x1024: {speed['predict_megapixels_per_s']:.2f} MP/s ({speed['predict_gflops']:.0f} GFLOP/s)",
        ]
    return lines


def run(args: argparse.Namespace) -> int:
    report = machine_report(args.device, measure=not args.no_speed)
    print(json.dumps(report, indent=2) if args.json else "\n".join(_lines(report)))
    return 0
