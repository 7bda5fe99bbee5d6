"""Big images: a 50,000 x 50,000 uint16 OME-Zarr (made here, chunk by chunk, cached under /tmp), then, each
in a fresh subprocess so its peak RSS is its own (resource.getrusage):

* view: open + the first view (the whole image fitted to a 1920 x 1080 window, from the pyramid level the
  viewer would pick), then random 1920 x 1080 views at levels 0, 1 and 2 (zoomed in, as when browsing);
* labels: brush dabs (read, paint a radius-20 disc, write back) into chunked labels, one 4096 x 4096
  region write, then status() and chunk_counts() from the index;
* predict: streamed prediction (inference.stream, tiny/fast preset, untrained) of two square crops of the
  big image (4096 and 8192 by default) next to the plain baseline, `Predictor.predict` on the same crop read
  whole into memory: peak RSS at both sizes (ours should stay flat, the baseline grows with the area).

    python benchmarks/big_image.py [--size 50000] [--crops 4096 8192] [--store /tmp/unet-studio-bench/...]

Prints one JSON object: the machine (CPU, threads, load average) and each phase's figures.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
CHUNK = 1024


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def synthetic_chunk(cy: int, cx: int, height: int, width: int) -> np.ndarray:
    """Noisy background with about 30 bright discs, the same for the same chunk every time."""
    rng = np.random.default_rng((cy, cx))
    block = (1000 + rng.integers(0, 32, (height, width))).astype(np.uint16)
    for _ in range(30):
        radius = int(rng.integers(6, 15))
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        y0, y1, x0, x1 = max(0, y - radius), min(height, y + radius + 1), max(0, x - radius), min(width, x + radius + 1)
        yy, xx = np.ogrid[y0 - y:y1 - y, x0 - x:x1 - x]
        block[y0:y1, x0:x1][yy * yy + xx * xx <= radius * radius] += 2000
    return block


def phase_make(store: Path, size: int) -> dict:
    from unet_studio.io.ome_zarr_write import create_ome_zarr

    started = time.perf_counter()
    writer = create_ome_zarr(store, (size, size), np.uint16, 1, CHUNK, 0.5, "0.4", own={"kind": "benchmark"})
    for cy in range(-(-size // CHUNK)):
        for cx in range(-(-size // CHUNK)):
            h, w = min(CHUNK, size - cy * CHUNK), min(CHUNK, size - cx * CHUNK)
            writer.write(cy * CHUNK, cx * CHUNK, synthetic_chunk(cy, cx, h, w))
    level0_s = time.perf_counter() - started
    writer.build_pyramid("mean")
    writer.finish()
    disk = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    return {"level0_s": round(level0_s, 1), "total_s": round(time.perf_counter() - started, 1),
            "disk_gb": round(disk / 1e9, 2), "peak_rss_mb": round(rss_mb())}


def phase_view(store: Path, n_views: int) -> dict:
    from unet_studio.io.ome_zarr import open_multiscale

    started = time.perf_counter()
    image = open_multiscale(store)
    opened = time.perf_counter() - started
    height, width = image.levels[0]
    level = image.level_for_scale(max(height / 1080, width / 1920))
    lh, lw = image.levels[level]
    image.read(level, 0, lh, 0, lw)
    first = time.perf_counter() - started
    rng, views = np.random.default_rng(0), {}
    for view_level in (0, 1, 2):
        vh, vw = image.levels[view_level]
        times = []
        for _ in range(n_views):
            y, x = int(rng.integers(0, max(1, vh - 1080))), int(rng.integers(0, max(1, vw - 1920)))
            t0 = time.perf_counter()
            image.read(view_level, y, y + 1080, x, x + 1920)
            times.append(time.perf_counter() - t0)
        views[f"level{view_level}"] = {"median_ms": round(1000 * float(np.median(times)), 1),
                                       "p95_ms": round(1000 * float(np.percentile(times, 95)), 1)}
    return {"levels": [list(s) for s in image.levels], "open_s": round(opened, 3),
            "first_view_level": level, "first_view_pixels": lh * lw, "open_and_first_view_s": round(first, 3),
            "view_1920x1080": views, "peak_rss_mb": round(rss_mb())}


def phase_labels(folder: Path, size: int, n_dabs: int) -> dict:
    import shutil

    from unet_studio.core.chunked_labels import ChunkedLabels

    shutil.rmtree(folder, ignore_errors=True)
    labels = ChunkedLabels(folder, (size, size), CHUNK)
    rng, times = np.random.default_rng(1), []
    yy, xx = np.ogrid[-20:21, -20:21]
    disc = yy * yy + xx * xx <= 400
    for _ in range(n_dabs):
        y, x = int(rng.integers(0, size - 41)), int(rng.integers(0, size - 41))
        t0 = time.perf_counter()
        region = labels.read(y, y + 41, x, x + 41)
        region[disc] = 2
        labels.write(y, x, region)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    labels.write(1000, 1000, np.ones((4096, 4096), np.uint8))
    region_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    reopened = ChunkedLabels(folder, (size, size), CHUNK)
    status = reopened.status()
    status_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = reopened.chunk_counts()
    return {"dab_read_paint_write_ms": {"median": round(1000 * float(np.median(times)), 2),
                                        "p95": round(1000 * float(np.percentile(times, 95)), 2)},
            "region_4096_write_s": round(region_s, 2), "chunks_stored": len(counts), "status": status,
            "status_from_index_ms": round(1000 * status_s, 1),
            "chunk_counts_ms": round(1000 * (time.perf_counter() - t0), 1), "peak_rss_mb": round(rss_mb())}


class Crop:
    """A square crop (at level 0: y0, x0, side) of a MultiscaleImage, with the pyramid levels above it."""

    def __init__(self, image, y0: int, x0: int, side: int):
        self.image, self.y0, self.x0, self.side = image, y0, x0, side
        self.path, self.channels, self.dtype, self.pixel_size_um = image.path, image.channels, image.dtype, image.pixel_size_um
        self.levels = tuple((-(-side // 2**i), -(-side // 2**i)) for i in range(len(image.levels)) if side // 2**i >= 64)

    def read(self, level: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        h, w = self.levels[level]
        oy, ox = self.y0 // 2**level, self.x0 // 2**level
        return self.image.read(level, oy + max(0, y0), oy + min(h, y1), ox + max(0, x0), ox + min(w, x1))


def phase_predict(store: Path, side: int, mode: str, out: Path) -> dict:
    import shutil

    import torch

    from speed_machine import machine
    from unet_studio.inference.config import PredictConfig
    from unet_studio.inference.predictor import Predictor
    from unet_studio.inference.stream import stream_predict
    from unet_studio.io.ome_zarr import open_multiscale
    from unet_studio.models import PRESETS, ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(in_channels=1, num_classes=2, **PRESETS["fast"]["unet"])).eval()
    classes = [{"value": 1, "name": "background"}, {"value": 2, "name": "object"}]
    predictor = Predictor(model, classes, {"method": "percentile", "low": 0.5, "high": 99.5}, device="cpu",
                          config=PredictConfig())
    crop = Crop(open_multiscale(store), 4096, 4096, side)
    baseline_rss = rss_mb()
    started = time.perf_counter()
    if mode == "stream":
        shutil.rmtree(out, ignore_errors=True)
        stream_predict(predictor, crop, out)
    else:
        predictor.predict(crop.read(0, 0, side, 0, side))
    seconds = time.perf_counter() - started
    return {"mode": mode, "side": side, "seconds": round(seconds, 1), "mpix_per_s": round(side * side / 1e6 / seconds, 2),
            "engine": predictor.engine, "precision": predictor.precision.name, "rss_before_mb": round(baseline_rss),
            "peak_rss_mb": round(rss_mb()), "threads": machine("native")["threads"]}


def run_phase(*args: str, script: str = __file__) -> dict:
    """`script --phase ARGS` in a fresh process (its own peak RSS): the JSON object its last line prints."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, script, "--phase", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-3:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--crops", type=int, nargs="+", default=[4096, 8192])
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--dabs", type=int, default=200)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, rest = args.phase[0], args.phase[1:]
        result = {"make": lambda: phase_make(Path(rest[0]), int(rest[1])),
                  "view": lambda: phase_view(Path(rest[0]), int(rest[1])),
                  "labels": lambda: phase_labels(Path(rest[0]), int(rest[1]), int(rest[2])),
                  "predict": lambda: phase_predict(Path(rest[0]), int(rest[1]), rest[2], Path(rest[3]))}[name]()
        print(json.dumps(result))
        return
    from speed_machine import machine

    work = Path("/tmp/unet-studio-bench")
    work.mkdir(parents=True, exist_ok=True)
    store = args.store or work / f"big{args.size}.ome.zarr"
    report = {"benchmark": "big_image", "size": args.size, "store": str(store), "machine": machine("native")}
    report["make"] = run_phase("make", str(store), str(args.size)) if not store.exists() else {"cached": True}
    report["view"] = run_phase("view", str(store), str(args.views))
    report["labels"] = run_phase("labels", str(work / "labels.chunks"), str(args.size), str(args.dabs))
    report["predict"] = [run_phase("predict", str(store), str(side), mode, str(work / f"pred{side}.ome.zarr"))
                         for side in args.crops for mode in ("stream", "whole")]
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
