"""Training and prediction speed of candidate model configs on this machine; prints JSON.

Candidates run side by side (round-robin over repeats) so a noisy shared machine hurts them alike.
Training: batch of 4 patches, forward + backward + AdamW step, channels_last, in the precision the runtime
policy picks (``--cpu no-bf16`` / ``avx2`` force its fp32 branch, see speed_machine.py).
Prediction: one tile per call in eval mode under no_grad, same precision settings.
Achieved GFLOP/s per CPU second use FLOPs counted by torch's FlopCounterMode (next to the machine's fp32 peak).
Usage: python benchmarks/model_speed.py [--cpu native|no-bf16|avx2] [--patch 256] [--steps 4] [--repeats 3] [--fp32]
       [--threads N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402

reexec_for_cpu_mode()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from unet_studio.models import ModelConfig, build_model  # noqa: E402
from unet_studio.runtime.precision import Precision, choose_precision  # noqa: E402
from unet_studio.training.speed_check import count_flops  # noqa: E402

CANDIDATES = {  # the first is the "balanced" preset, the reference for the ratios
    "unet d3 b16 batch transpose": dict(depth=3, base_channels=16),
    "unet d4 b16 batch transpose": dict(depth=4, base_channels=16),
    "unet d4 b16 batch bilinear": dict(depth=4, base_channels=16, upsample="bilinear"),
    "unet d3 b16 batch bilinear": dict(depth=3, base_channels=16, upsample="bilinear"),
    "unet d4 b16 group transpose": dict(depth=4, base_channels=16, norm="group"),
    "unet d4 b16 instance transpose": dict(depth=4, base_channels=16, norm="instance"),
    "unet d4 b8 batch transpose": dict(depth=4, base_channels=8),
    "unet d3 b8 batch transpose": dict(depth=3, base_channels=8),
    "unet d4 b32 batch transpose": dict(depth=4, base_channels=32),
    "unet d3 b12 batch transpose": dict(depth=3, base_channels=12),
    "unet d4 b12 batch transpose": dict(depth=4, base_channels=12),
    "unet d5 b8 batch transpose": dict(depth=5, base_channels=8),
    "unetpp d3 b16 batch transpose": dict(arch="unetpp", depth=3, base_channels=16),
    "attention-unet d4 b16 batch transpose": dict(arch="attention-unet", depth=4, base_channels=16),
}


FP32 = Precision("cpu", "fp32", "baseline")


def _precision(mixed: bool):
    """The policy's precision for the candidates (``mixed``), plain fp32 for the --fp32 reference run."""
    return choose_precision("cpu").autocast() if mixed else FP32.autocast()


def train_patches_per_s(model, optimizer, patch: int, batch: int, steps: int, mixed: bool) -> tuple[float, float]:
    """(patches per wall second, per CPU second) over `steps` optimisation steps after one warm-up step."""
    images = torch.randn(batch, 1, patch, patch).contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 2, (batch, patch, patch))
    model.train()
    start = cpu_start = 0.0
    for step in range(steps + 1):
        if step == 1:
            start, cpu_start = time.perf_counter(), time.process_time()
        with _precision(mixed):
            loss = F.cross_entropy(model(images).float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start), steps * batch / (time.process_time() - cpu_start)


@torch.no_grad()
def predict_megapixels_per_s(model, tile: int, calls: int, mixed: bool) -> tuple[float, float]:
    """(megapixels per wall second, per CPU second) predicting single tiles after one warm-up call."""
    image = torch.randn(1, 1, tile, tile).contiguous(memory_format=torch.channels_last)
    model.eval()
    with _precision(mixed):
        model(image)
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(calls):
            model(image).float().softmax(1)
    megapixels = calls * tile * tile / 1e6
    return megapixels / (time.perf_counter() - start), megapixels / (time.process_time() - cpu_start)


def _summary(name: str, mixed: bool, model, train: list, predict: list, patch: int) -> dict:
    """Medians over repeats; the 'per_cpu_s' figures count CPU seconds, so they suffer less from other load."""
    train_gflop = count_flops(model, (1, 1, patch, patch), backward=True) / 1e9
    predict_gflop_per_mp = count_flops(model, (1, 1, patch, patch), backward=False) / 1e9 / (patch * patch / 1e6)
    train_cpu = statistics.median(cpu for _, cpu in train)
    predict_cpu = statistics.median(cpu for _, cpu in predict)
    return {
        "candidate": name,
        "policy_precision": mixed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "gflop_per_patch_forward_backward": round(train_gflop, 2),
        "train_gflops_per_cpu_s": round(train_cpu * train_gflop, 1),
        "predict_gflops_per_cpu_s": round(predict_cpu * predict_gflop_per_mp, 1),
        "train_patches_per_s": round(statistics.median(wall for wall, _ in train), 2),
        "train_patches_per_cpu_s": round(statistics.median(cpu for _, cpu in train), 2),
        "predict_megapixels_per_s": round(statistics.median(wall for wall, _ in predict), 2),
        "predict_megapixels_per_cpu_s": round(statistics.median(cpu for _, cpu in predict), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fp32", action="store_true", help="also time the first candidate in plain fp32")
    parser.add_argument("--only", nargs="*", help="subset of candidate names")
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    apply_cpu_mode(args.cpu)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.only or list(CANDIDATES)
    runs = [(name, True) for name in names] + ([(names[0], False)] if args.fp32 else [])
    models = {}
    for name, mixed in runs:
        torch.manual_seed(0)
        model = build_model(ModelConfig(**CANDIDATES[name])).to(memory_format=torch.channels_last)
        models[name, mixed] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3))
    train = {run: [] for run in runs}
    predict = {run: [] for run in runs}
    for _ in range(args.repeats):
        for run in runs:
            model, optimizer = models[run]
            train[run].append(train_patches_per_s(model, optimizer, args.patch, args.batch, args.steps, run[1]))
            predict[run].append(predict_megapixels_per_s(model, args.patch, 2 * args.steps, run[1]))
    results = [_summary(name, mixed, models[name, mixed][0], train[name, mixed], predict[name, mixed],
                        args.patch) for name, mixed in runs]
    for row in results:
        for key in [key for key in row if "_per_" in key]:
            row[f"{key}_vs_first"] = round(row[key] / results[0][key], 2)
    setup = {"machine": machine(args.cpu), "precision": choose_precision("cpu").describe(), "patch": args.patch,
             "batch": args.batch}
    print(json.dumps({"setup": setup, "results": results}, indent=1))


if __name__ == "__main__":
    main()
