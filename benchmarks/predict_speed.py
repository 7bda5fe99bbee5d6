"""Prediction speed (megapixels/s) of our path against plain fp32 eager, side by side, and peak memory; JSON.

    python benchmarks/predict_speed.py [--cpu native|no-bf16|avx2] [--size 2048] [--rss-size 8192]
                                       [--tiles 256 512] [--preset balanced] [--model JSON]

* ``ours``: ``Predictor`` with the default PredictConfig (the precision policy's choice, and ONNX Runtime
  where that is fp32 on a CPU); ``--cpu no-bf16`` / ``avx2`` force the fp32 branch (see speed_machine.py).
* ``torch_fp32``: ``Predictor`` on torch in float32 (batch norms folded, channels_last).
* ``plain_fp32_eager``: the unfused network called on each tile in float32, contiguous layout, no autocast.
* ``onnxruntime_fp32``: where ours is not already ONNX Runtime, what it would give.

All go through the same tiler and the full-probability path; speed is timed after a one-tile warm-up,
in alternating order, per wall second and per CPU second of this process (on a busy shared machine with one
thread, the CPU-second figure is close to what an idle core gives). Achieved GFLOP/s count every tile the network ran (overlaps included). Peak RSS of the
streamed path for the huge image is measured in a fresh subprocess (resource.getrusage), torch included.
Targets on a 2-core CPU: >= 2 MP/s and < 1.5 GB for 8192 x 8192.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_choice import add_model_options, chosen_model, model_argv, preset_name  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402

reexec_for_cpu_mode()

import torch  # noqa: E402

from unet_studio.inference.config import PredictConfig  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.inference.tile_functions import logits_to_probabilities, pooling_alignment  # noqa: E402
from unet_studio.inference.tiling import predict_probabilities  # noqa: E402
from unet_studio.core.normalize import normalize_with_range, percentile_range  # noqa: E402
from unet_studio.models import build_model  # noqa: E402
from unet_studio.training.speed_check import count_flops, tiled_pixels  # noqa: E402


def make_model(args) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(chosen_model(args, in_channels=1, num_classes=2)).eval()


def make_image(size: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (size, size, 1), dtype=np.uint8)


CLASSES = [{"value": 1, "name": "background", "color": None}, {"value": 2, "name": "object", "color": None}]
NORMALIZATION = {"method": "percentile", "low": 0.5, "high": 99.5}


def make_predictor(model, tile: int, overlap: int, **changes) -> Predictor:
    return Predictor(model, CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(tile, overlap, **changes))


class PlainEager:
    """The baseline tile function: the unfused network in float32, contiguous layout, no autocast."""

    def __init__(self, model):
        self.model, self.margin, self.align = model, 0, pooling_alignment(model)

    def __call__(self, tile_input):
        with torch.inference_mode():
            return logits_to_probabilities(self.model(torch.from_numpy(tile_input)[None]))[0].numpy()


def runners(model, tile: int, overlap: int) -> dict:
    """name -> (callable predicting a raw (H, W, 1) image, a note on how it runs)."""
    ours, torch_fp32 = make_predictor(model, tile, overlap), make_predictor(model, tile, overlap, precision="fp32",
                                                                            backend="torch")
    plain = PlainEager(model)

    def plain_predict(pixels):
        lo, hi = percentile_range(pixels)
        return predict_probabilities(plain, normalize_with_range(pixels, lo, hi), PredictConfig(tile, overlap))

    found = {"ours": (ours.predict, f"{ours.precision.name} on {ours.engine}"),
             "torch_fp32": (torch_fp32.predict, "fp32 on torch"), "plain_fp32_eager": (plain_predict, "fp32 eager")}
    if ours.engine != "onnxruntime":  # show what ONNX Runtime would have given
        onnx = make_predictor(model, tile, overlap, precision="fp32", backend="onnxruntime")
        found["onnxruntime_fp32"] = (onnx.predict, "fp32 on onnxruntime")
    return found


def measure_speed(model, size: int, tile: int, overlap: int, rounds: int) -> dict:
    image = make_image(size)
    runs = runners(model, tile, overlap)
    times = {name: [] for name in runs}
    cpu_times = {name: [] for name in runs}
    for name, (predict, _) in runs.items():
        predict(image[:tile, :tile])  # warm-up: kernel choice, the ONNX session
    for _ in range(rounds):
        for name, (predict, _) in runs.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            predict(image)
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - cpu_start)
    flops = count_flops(model, (1, 1, 256, 256), backward=False) / 256**2 * tiled_pixels(
        size, PredictConfig(tile, overlap), pooling_alignment(model))
    best = {name: min(values) for name, values in times.items()}
    return {"tile": tile, "overlap": overlap,
            "how": {name: note for name, (_, note) in runs.items()},
            "megapixels_per_s": {name: round(size * size / s / 1e6, 3) for name, s in best.items()},
            "megapixels_per_cpu_s": {name: round(size * size / min(v) / 1e6, 3) for name, v in cpu_times.items()},
            "gflops": {name: round(flops / s / 1e9, 1) for name, s in best.items()},
            "gflops_per_cpu_s": {name: round(flops / min(v) / 1e9, 1) for name, v in cpu_times.items()},
            "ours_vs_plain": round(best["plain_fp32_eager"] / best["ours"], 2),
            "ours_vs_torch_fp32": round(best["torch_fp32"] / best["ours"], 2)}


def peak_rss_child(args, size: int, tile: int, overlap: int) -> None:
    """Run in a subprocess: predict a size x size uint8 image and print peak RSS as JSON."""
    predictor = make_predictor(make_model(args), tile, overlap)
    image = make_image(size)
    start = time.perf_counter()
    prediction = predictor.predict(image)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"size": size, "tile": tile, "seconds": round(seconds, 1), "streamed": prediction.probabilities is None,
                      "peak_rss_mb": round(peak_kib / 1024, 1)}))


def measure_peak_rss(args, size: int, tile: int, overlap: int, cpu_mode: str) -> dict:
    command = [sys.executable, __file__, "--child-rss", str(size), *model_argv(args), "--tiles", str(tile),
               "--overlap", str(overlap), "--cpu", cpu_mode]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--rss-size", type=int, default=8192, help="0 skips the peak-memory run")
    parser.add_argument("--tiles", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--overlap", type=int, default=64)
    add_model_options(parser)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child-rss", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    apply_cpu_mode(args.cpu)
    if args.child_rss:
        peak_rss_child(args, args.child_rss, args.tiles[0], args.overlap)
        return
    model = make_model(args)
    report = {
        "machine": machine(args.cpu),
        "model": {"preset": preset_name(args), **chosen_model(args).to_dict()},
        "image": f"{args.size}x{args.size} uint8",
        "speed": [measure_speed(model, args.size, tile, args.overlap, args.rounds) for tile in args.tiles],
    }
    if args.rss_size:
        report["peak_memory"] = measure_peak_rss(args, args.rss_size, args.tiles[-1], args.overlap, args.cpu)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
