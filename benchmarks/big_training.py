"""Training a project on a 50,000 x 50,000 uint16 OME-Zarr whose chunked labels hold scribbles, next to the
same run on an ordinary project image (a crop of it saved as a TIFF, trained through the whole-image path).
Each project is made, and each run trained, in its own subprocess, so a run's peak RSS is its own
(resource.getrusage); the big store is big_image.py's (made chunk by chunk, cached under /tmp).

    python benchmarks/big_training.py [--size 50000] [--crop 8192] [--chunks 40] [--steps 30] [--threads 2]

Both projects label the same number of 1024 x 1024 chunks (random ones, seeded) the same way: every 8th row
of each, 2 (object) on the bright discs and 1 (background) elsewhere. Training: the fast preset, 4 patches
of 256 x 256 per step, default augmentation, no validation image (scribbles). Prints one JSON object: the
machine (CPU, threads, load average) and per run peak RSS, RSS before training, steps, patches/s and the
level-0 regions read (count, largest).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from big_image import CHUNK, rss_mb, synthetic_chunk  # noqa: E402
from big_image import run_phase as run_big_image_phase  # noqa: E402

WORK = Path("/tmp/unet-studio-bench")


def scribbles(pixels: np.ndarray) -> np.ndarray:
    """Annotation values of the benchmark's strokes: every 8th row, 2 on discs (+2000 over the background)."""
    labels = np.zeros(pixels.shape, np.uint8)
    labels[::8] = np.where(pixels[::8] > 2500, 2, 1)
    return labels


def chosen_chunks(grid: int, count: int) -> list[tuple[int, int]]:
    picks = np.random.default_rng(7).choice(grid * grid, size=min(count, grid * grid), replace=False)
    return [divmod(int(p), grid) for p in sorted(picks)]


def phase_prepare(kind: str, store: Path, folder: Path, size: int, crop: int, count: int) -> dict:
    """A project on the big store (kind 'big') or on a crop of it saved as a TIFF ('whole'), labelled."""
    import tifffile

    from unet_studio.core.annotations import write_annotation
    from unet_studio.core.project import Project
    from unet_studio.io.ome_zarr import open_multiscale

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if kind == "big":
        project = Project.create(folder / "project", [store])
        labels = project.chunked_labels(project.images[0].id)
        for cy, cx in chosen_chunks(-(-size // CHUNK), count):
            h, w = min(CHUNK, size - cy * CHUNK), min(CHUNK, size - cx * CHUNK)
            labels.write(cy * CHUNK, cx * CHUNK, scribbles(synthetic_chunk(cy, cx, h, w)))
        return {"kind": kind, "pixels": size * size, "labelled_chunks": len(labels.chunks_stored())}
    pixels = open_multiscale(store).read(0, 0, crop, 0, crop)
    tifffile.imwrite(folder / "crop.tif", pixels, tile=(512, 512))
    annotation = np.zeros((crop, crop), np.uint8)
    for cy, cx in chosen_chunks(crop // CHUNK, count):
        block = np.s_[cy * CHUNK:(cy + 1) * CHUNK, cx * CHUNK:(cx + 1) * CHUNK]
        annotation[block] = scribbles(pixels[block])
    project = Project.create(folder / "project", [folder / "crop.tif"])
    write_annotation(folder / "project" / "annotations" / project.images[0].id, annotation)
    return {"kind": kind, "pixels": crop * crop, "labelled_chunks": count}


def phase_train(folder: Path, steps: int, threads: int) -> dict:
    import torch

    from speed_machine import machine
    from unet_studio.core.project import Project
    from unet_studio.io import multiscale_image
    from unet_studio.models.config import ModelConfig
    from unet_studio.training.api import iter_train_project
    from unet_studio.training.config import TrainConfig
    from unet_studio.training.events import StepEnded, TrainingFinished

    torch.set_num_threads(threads)
    reads = []
    original = multiscale_image.MultiscaleImage.read

    def counted(self, level, y0, y1, x0, x1):
        block = original(self, level, y0, y1, x0, x1)
        reads.append((level, block.shape[0] * block.shape[1]))
        return block

    multiscale_image.MultiscaleImage.read = counted
    project = Project.open(folder / "project")
    config = TrainConfig(max_steps=steps, steps_per_epoch=10, device="cpu", num_threads=threads)
    before, started, rates, finished = rss_mb(), time.perf_counter(), [], None
    for event in iter_train_project(project, model_config=ModelConfig.from_preset("fast"), train_config=config):
        if isinstance(event, StepEnded):
            rates.append(event.patches_per_s)
        elif isinstance(event, TrainingFinished):
            finished = event
    level0 = [n for level, n in reads if level == 0]
    return {"steps": len(rates), "seconds": round(time.perf_counter() - started, 1),
            "patches_per_s_median": round(float(np.median(rates)), 2) if rates else None,
            "model_saved": finished is not None and finished.checkpoint_path is not None,
            "rss_before_training_mb": round(before), "peak_rss_mb": round(rss_mb()),
            "level0_reads": len(level0), "largest_level0_read_px": max(level0, default=0),
            "other_level_reads_px": sorted({n for level, n in reads if level > 0}),
            "threads": machine("native")["threads"], "load_average": os.getloadavg()}


def run_phase(*args: str) -> dict:
    return run_big_image_phase(*args, script=__file__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--crop", type=int, default=8192)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, rest = args.phase[0], args.phase[1:]
        result = (phase_prepare(rest[0], Path(rest[1]), Path(rest[2]), *map(int, rest[3:])) if name == "prepare"
                  else phase_train(Path(rest[0]), int(rest[1]), int(rest[2])))
        print(json.dumps(result))
        return
    from speed_machine import machine

    store = WORK / f"big{args.size}.ome.zarr"
    report = {"benchmark": "big_training", "size": args.size, "machine": machine("native")}
    if not store.exists():
        report["make"] = run_big_image_phase("make", str(store), str(args.size))
    for kind in ("big", "whole"):
        folder = WORK / f"train-{kind}"
        report[kind] = {**run_phase("prepare", kind, str(store), str(folder), str(args.size), str(args.crop),
                                    str(args.chunks)),
                        **run_phase("train", str(folder), str(args.steps), str(args.threads))}
    report["load_average_end"] = os.getloadavg()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
