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
import statistics
import time

import torch
import torch.nn.functional as F

from unet_studio.models import ModelConfig, build_model

CANDIDATES = {
    "unet d4 b16 batch transpose": dict(depth=4, base_channels=16),
    "unet d4 b16 batch bilinear": dict(depth=4, base_channels=16, upsample="bilinear"),
    "unet d4 b16 group transpose": dict(depth=4, base_channels=16, norm="group"),
    "unet d4 b16 instance transpose": dict(depth=4, base_channels=16, norm="instance"),
    "unet d3 b16 batch transpose": dict(depth=3, base_channels=16),
    "unet d4 b8 batch transpose": dict(depth=4, base_channels=8),
    "unet d3 b8 batch transpose": dict(depth=3, base_channels=8),
    "unet d4 b32 batch transpose": dict(depth=4, base_channels=32),
    "unetpp d3 b16 batch transpose": dict(arch="unetpp", depth=3, base_channels=16),
    "attention-unet d4 b16 batch transpose": dict(arch="attention-unet", depth=4, base_channels=16),
}


def _precision(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def train_patches_per_s(model, optimizer, patch: int, batch: int, steps: int, bf16: bool) -> float:
    """Patches per second over `steps` optimisation steps (after one untimed warm-up step)."""
    images = torch.randn(batch, 1, patch, patch).contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 2, (batch, patch, patch))
    model.train()
    start = 0.0
    for step in range(steps + 1):
        if step == 1:
            start = time.perf_counter()
        with _precision(bf16):
            loss = F.cross_entropy(model(images).float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


@torch.no_grad()
def predict_megapixels_per_s(model, tile: int, calls: int, bf16: bool) -> float:
    """Megapixels per second predicting single tiles (after one untimed warm-up call)."""
    image = torch.randn(1, 1, tile, tile).contiguous(memory_format=torch.channels_last)
    model.eval()
    with _precision(bf16):
        model(image)
        start = time.perf_counter()
        for _ in range(calls):
            model(image).float().softmax(1)
    return calls * tile * tile / 1e6 / (time.perf_counter() - start)


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
    reference = runs[0]
    results = []
    for run in runs:
        name, bf16 = run
        model = models[run][0]
        train_median, predict_median = statistics.median(train[run]), statistics.median(predict[run])
        results.append({
            "candidate": name,
            "bf16": bf16,
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_patches_per_s": round(train_median, 2),
            "predict_megapixels_per_s": round(predict_median, 2),
            "train_ratio_to_first": round(train_median / statistics.median(train[reference]), 2),
            "predict_ratio_to_first": round(predict_median / statistics.median(predict[reference]), 2),
        })
    setup = {"threads": torch.get_num_threads(), "patch": args.patch, "batch": args.batch, "torch": torch.__version__}
    print(json.dumps({"setup": setup, "results": results}, indent=1))


if __name__ == "__main__":
    main()
