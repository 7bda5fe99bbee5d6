"""Training and prediction speed of candidate model configs on this machine; prints JSON.

Candidates run side by side (round-robin over repeats) so a noisy shared machine hurts them alike.
Training: batch of 4 patches, forward + backward + AdamW step, bf16 autocast + channels_last.
Prediction: one tile per call in eval mode under no_grad, same precision settings.
Usage: python benchmarks/model_speed.py [--patch 256] [--steps 4] [--repeats 3] [--fp32]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

from unet_studio.models import ModelConfig, build_model

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
    "unetpp d3 b16 batch transpose": dict(arch="unetpp", depth=3, base_channels=16),
    "attention-unet d4 b16 batch transpose": dict(arch="attention-unet", depth=4, base_channels=16),
}


def _precision(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def train_patches_per_s(model, optimizer, patch: int, batch: int, steps: int, bf16: bool) -> tuple[float, float]:
    """(patches per wall second, per CPU second) over `steps` optimisation steps after one warm-up step."""
    images = torch.randn(batch, 1, patch, patch).contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 2, (batch, patch, patch))
    model.train()
    start = cpu_start = 0.0
    for step in range(steps + 1):
        if step == 1:
            start, cpu_start = time.perf_counter(), time.process_time()
        with _precision(bf16):
            loss = F.cross_entropy(model(images).float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start), steps * batch / (time.process_time() - cpu_start)


@torch.no_grad()
def predict_megapixels_per_s(model, tile: int, calls: int, bf16: bool) -> tuple[float, float]:
    """(megapixels per wall second, per CPU second) predicting single tiles after one warm-up call."""
    image = torch.randn(1, 1, tile, tile).contiguous(memory_format=torch.channels_last)
    model.eval()
    with _precision(bf16):
        model(image)
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(calls):
            model(image).float().softmax(1)
    megapixels = calls * tile * tile / 1e6
    return megapixels / (time.perf_counter() - start), megapixels / (time.process_time() - cpu_start)


def _summary(name: str, bf16: bool, model, train: list, predict: list) -> dict:
    """Medians over repeats; the 'per_cpu_s' figures count CPU seconds, so they suffer less from other load."""
    return {
        "candidate": name,
        "bf16": bf16,
        "parameters": sum(p.numel() for p in model.parameters()),
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
    parser.add_argument("--fp32", action="store_true", help="also time the first candidate without bf16")
    parser.add_argument("--only", nargs="*", help="subset of candidate names")
    args = parser.parse_args()
    names = args.only or list(CANDIDATES)
    runs = [(name, True) for name in names] + ([(names[0], False)] if args.fp32 else [])
    models = {}
    for name, bf16 in runs:
        torch.manual_seed(0)
        model = build_model(ModelConfig(**CANDIDATES[name])).to(memory_format=torch.channels_last)
        models[name, bf16] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3))
    train = {run: [] for run in runs}
    predict = {run: [] for run in runs}
    for _ in range(args.repeats):
        for run in runs:
            model, optimizer = models[run]
            train[run].append(train_patches_per_s(model, optimizer, args.patch, args.batch, args.steps, run[1]))
            predict[run].append(predict_megapixels_per_s(model, args.patch, 2 * args.steps, run[1]))
    results = [_summary(name, bf16, models[name, bf16][0], train[name, bf16], predict[name, bf16]) for name, bf16 in runs]
    for row in results:
        for key in [key for key in row if "_per_" in key]:
            row[f"{key}_vs_first"] = round(row[key] / results[0][key], 2)
    setup = {"threads": torch.get_num_threads(), "patch": args.patch, "batch": args.batch, "torch": torch.__version__,
             "load_average": os.getloadavg()}
    print(json.dumps({"setup": setup, "results": results}, indent=1))


if __name__ == "__main__":
    main()
