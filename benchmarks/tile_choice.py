"""Which tile side predicts fastest: the same Predictor settings at several tile sides, timed in alternating
rounds on one image (the order reversed every other round), so a noisy machine hurts them alike. JSON.

    python benchmarks/tile_choice.py [--cpu native|no-bf16|avx2] [--size 1024 2048] [--tiles 512 1024]
                                     [--rounds 7] [--threads 2] [--preset balanced] [--model JSON]

The network is the chosen model with fresh weights (its speed does not depend on them), run as the default
Predictor runs it (the precision policy, ONNX Runtime where that is fp32 on a CPU). Per size it prints the
median MP/s per tile side and, per round, the time of the first tile side over each other one (above 1: the
other is faster). A bigger tile recomputes less overlap; past some side, caches and allocations cost more.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_choice import add_model_options, chosen_model  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402


def paired_rounds(predictors: dict[int, object], image: np.ndarray, rounds: int) -> dict[int, list[float]]:
    """Seconds per tile side and round, after one warm-up prediction each, in alternating order."""
    for predictor in predictors.values():
        predictor.predict(image[:256, :256])
    seconds: dict[int, list[float]] = {tile: [] for tile in predictors}
    order = list(predictors)
    for index in range(rounds):
        for tile in order if index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            predictors[tile].predict(image)
            seconds[tile].append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    add_model_options(parser)
    parser.add_argument("--size", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--tiles", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    reexec_for_cpu_mode()
    apply_cpu_mode(args.cpu)
    import torch

    from unet_studio.inference.config import PredictConfig
    from unet_studio.inference.predictor import Predictor
    from unet_studio.models.registry import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = chosen_model(args)
    network = build_model(config).eval()
    classes = [{"value": v + 1, "name": f"class {v}"} for v in range(config.num_classes)]
    normalization = {"method": "percentile", "low": 0.5, "high": 99.5}
    predictors = {tile: Predictor(network, classes, normalization, device="cpu",
                                  config=PredictConfig(tile, args.overlap)) for tile in args.tiles}
    first = args.tiles[0]
    report = {"machine": machine(args.cpu), "model": config.to_dict(), "overlap": args.overlap,
              "engine": predictors[first].engine, "sizes": []}
    for size in args.size:
        image = (np.random.default_rng(0).random((size, size, config.in_channels)) * 255).astype(np.uint8)
        seconds = paired_rounds(predictors, image.squeeze(-1) if config.in_channels == 1 else image, args.rounds)
        megapixels = size * size / 1e6
        report["sizes"].append({
            "size": size,
            "megapixels_per_s": {tile: round(megapixels / statistics.median(s), 3) for tile, s in seconds.items()},
            f"tile_{first}_seconds_over": {tile: [round(a / b, 3) for a, b in zip(seconds[first], s)]
                                           for tile, s in seconds.items() if tile != first},
        })
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
