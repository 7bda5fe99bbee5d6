"""Prediction speed (megapixels/s, bf16 autocast on vs off) and peak memory on a huge image; prints JSON.

    python benchmarks/predict_speed.py [--size 2048] [--rss-size 8192] [--tiles 256 512] [--preset balanced]

Both go through Predictor.predict (batch norms folded, full path for the speed image, streamed path for the
huge one); speed is timed after a one-tile warm-up. Peak RSS is measured in a fresh subprocess with
resource.getrusage(RUSAGE_SELF).ru_maxrss, so it includes torch itself. Targets on the 2-core dev CPU:
>= 2 MP/s and < 1.5 GB for 8192 x 8192.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from unet_studio.inference.predictor import Predictor
from unet_studio.models import PRESETS, ModelConfig, build_model


def make_model(preset: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(in_channels=1, num_classes=2, **PRESETS[preset]["unet"])).eval()


def make_image(size: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (size, size, 1), dtype=np.uint8)


CLASSES = [{"value": 1, "name": "background", "color": None}, {"value": 2, "name": "object", "color": None}]
NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}


def make_predictor(model, tile: int, overlap: int, amp: bool = True) -> Predictor:
    return Predictor(model, CLASSES, NORMALIZATION, device="cpu", tile=tile, overlap=overlap, amp=amp)


def measure_speed(model, size: int, tile: int, overlap: int, amp: bool) -> dict:
    image = make_image(size)
    predictor = make_predictor(model, tile, overlap, amp)
    predictor.predict(image[:tile, :tile])  # warm-up: oneDNN picks its kernels on the first call
    start = time.perf_counter()
    predictor.predict(image)
    seconds = time.perf_counter() - start
    return {"tile": tile, "overlap": overlap, "amp": amp, "seconds": round(seconds, 2),
            "megapixels_per_s": round(size * size / seconds / 1e6, 3)}


def peak_rss_child(preset: str, size: int, tile: int, overlap: int) -> None:
    """Run in a subprocess: predict a size x size uint8 image and print peak RSS as JSON."""
    predictor = make_predictor(make_model(preset), tile, overlap)
    image = make_image(size)
    start = time.perf_counter()
    prediction = predictor.predict(image)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"size": size, "tile": tile, "seconds": round(seconds, 1), "streamed": prediction.probabilities is None,
                      "peak_rss_mb": round(peak_kib / 1024, 1)}))


def measure_peak_rss(preset: str, size: int, tile: int, overlap: int) -> dict:
    command = [sys.executable, __file__, "--child-rss", str(size), "--preset", preset, "--tiles", str(tile),
               "--overlap", str(overlap)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--rss-size", type=int, default=8192, help="0 skips the peak-memory run")
    parser.add_argument("--tiles", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--preset", default="balanced", choices=sorted(PRESETS))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child-rss", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child_rss:
        peak_rss_child(args.preset, args.child_rss, args.tiles[0], args.overlap)
        return
    model = make_model(args.preset)
    report = {
        "model": {"preset": args.preset, **PRESETS[args.preset]["unet"]},
        "image": f"{args.size}x{args.size} uint8",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "speed": [measure_speed(model, args.size, tile, args.overlap, amp) for tile in args.tiles
                  for amp in (True, False)],
    }
    if args.rss_size:
        report["peak_memory"] = measure_peak_rss(args.preset, args.rss_size, args.tiles[-1], args.overlap)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
