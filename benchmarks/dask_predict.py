"""`predict --dask` on a LocalCluster: 1 worker vs 2 workers (one torch thread each) on the same images, side
by side in one run, each output checked byte for byte against the local loop; JSON.

    python benchmarks/dask_predict.py [--images 200] [--size 256] [--preset fast] [--rounds 2]

The script makes `--images` synthetic blob images (PNG, `--size` square) and a random `--preset` U-Net
thresholded at the median of its p(object) on one of them (so the masks are mixed, and a difference in the
numbers would show in the bytes). `local_1_thread` is the CLI's local loop in this process on one torch
thread (the baseline and the reference bytes). Each Dask run starts its own LocalCluster of worker
processes (`processes=True`, one task at a time each, one torch thread each, as `predict --dask
--dask-workers N` with N = cores), registers the model, and predicts every image; `predict_s` runs from the
first submit to the last result (the model loads on each worker's first task, so it is inside), `startup_s`
is the cluster start. Runs go 1, 2, 2, 1 workers (ABBA, `--rounds 2`) so a change in the machine's load
falls on both; the speed-up is 1-worker predict_s / 2-worker predict_s, from the means, and the steady one
the ratio of images/s after the first result of each worker (model loading and ONNX export left out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import machine  # noqa: E402

import torch  # noqa: E402

from unet_studio.export.predicted_files import FileOptions, predict_file  # noqa: E402
from unet_studio.inference.dask_predict import dask_client, predict_on_cluster  # noqa: E402
from unet_studio.inference.model_files import load_predictor  # noqa: E402
from unet_studio.models import PRESETS, ModelConfig, build_model  # noqa: E402
from unet_studio.models.checkpoint import save_checkpoint  # noqa: E402

CLASSES = [{"value": 1, "name": "background"}, {"value": 2, "name": "cell"}]


def make_blobs(size: int, seed: int, n: int = 12, radius: int = 10) -> np.ndarray:
    """A uint8 image of bright discs on a dark noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    image = np.full((size, size), 0.2)
    for _ in range(n):
        cy, cx = rng.integers(radius, size - radius, 2)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = 0.8
    return (np.clip(image + 0.1 * rng.standard_normal((size, size)), 0, 1) * 255).astype(np.uint8)


def make_inputs(folder: Path, count: int, size: int, preset: str) -> tuple[Path, Path]:
    images = folder / "images"
    images.mkdir()
    for i in range(count):
        cv2.imwrite(str(images / f"img_{i:04d}.png"), make_blobs(size, seed=i))
    torch.manual_seed(0)
    config = ModelConfig(in_channels=1, num_classes=2, **PRESETS[preset]["unet"])
    network = build_model(config)
    model = save_checkpoint(folder / "model.pt", network, config, CLASSES, None, {}, {})
    probabilities = load_predictor(model, device="cpu").predict(make_blobs(size, seed=10**6)).probabilities
    save_checkpoint(model, network, config, CLASSES, None, {}, {}, threshold=float(np.median(probabilities[1])))
    return images, model


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_local(images: Path, model: Path, out: Path) -> dict:
    out.mkdir()
    torch.set_num_threads(1)
    start = time.perf_counter()
    predictor = load_predictor(model, device="cpu")
    failures = sum(predict_file(predictor, p, out / f"{p.stem}.png", FileOptions()) is not None
                   for p in sorted(images.iterdir()))
    seconds = time.perf_counter() - start
    return {"predict_s": seconds, "images_per_s": len(list(images.iterdir())) / seconds, "failures": failures}


def run_dask(images: Path, model: Path, out: Path, workers: int) -> dict:
    out.mkdir()
    tasks = [(p, out / f"{p.stem}.png") for p in sorted(images.iterdir())]
    start = time.perf_counter()
    with dask_client(None, workers) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter()
        results, arrivals = [], []
        for result in predict_on_cluster(client, model, predict_file, tasks, FileOptions(), device="cpu",
                                         torch_threads=1):
            results.append(result)
            arrivals.append(time.perf_counter())
        done = time.perf_counter()
    steady = arrivals[workers - 1:]  # from the result by which every worker has loaded the model (about)
    return {"workers": workers, "startup_s": started - start, "predict_s": done - started,
            "images_per_s": len(tasks) / (done - started),
            "steady_images_per_s": (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else None,
            "failures": sum(r.problem is not None for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--preset", choices=list(PRESETS), default="fast")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds: 1 = one 1-worker and one 2-worker run")
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        folder = Path(tmp)
        images, model = make_inputs(folder, args.images, args.size, args.preset)
        local = run_local(images, model, folder / "local")
        reference = digests(folder / "local")
        order = ([1, 2, 2, 1] * args.rounds)[: 2 * args.rounds]
        runs = []
        for index, workers in enumerate(order):
            run = run_dask(images, model, folder / f"dask-{index}", workers)
            run["same_bytes_as_local"] = digests(folder / f"dask-{index}") == reference
            runs.append(run)
        by = {n: [r for r in runs if r["workers"] == n] for n in (1, 2)}
        mean = {n: float(np.mean([r["predict_s"] for r in by[n]])) for n in (1, 2)}
        masks = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted((folder / "local").iterdir())]
        print(json.dumps({
            "benchmark": "dask_predict", "images": args.images, "size": args.size, "preset": args.preset,
            "object_fraction_of_masks": float(np.mean([m.mean() for m in masks])),
            "local_1_thread": local, "runs": runs,
            "mean_predict_s": {"1_worker": mean[1], "2_workers": mean[2]},
            "speedup_2_vs_1_workers": mean[1] / mean[2],
            "steady_speedup_2_vs_1_workers": float(np.mean([r["steady_images_per_s"] for r in by[2]])
                                                   / np.mean([r["steady_images_per_s"] for r in by[1]])),
            "dask_2_workers_vs_local_1_thread": local["predict_s"] / mean[2],
            "all_byte_for_byte": all(r["same_bytes_as_local"] for r in runs) and len(reference) == args.images,
            "load_average_at_start": load_at_start, "machine": machine("native"),
        }, indent=1))


if __name__ == "__main__":
    main()
