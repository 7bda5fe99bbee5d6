"""2-D U-Net vs 3-D U-Net on the ISBI 2012 stack with labels on every 4th slice, the same time budget.

The 20 ISBI slices of ../shared/data stacked as a 20 x 512 x 512 volume; the dense truth of slices 0, 4, 8, 12
and 16 is the only training label (0 = unlabelled on the other 15 slices). Ours: the 3-D U-Net trained on the
volume (`iter_train_volumes`, as `unet-studio train --model unet3d`); the baseline: the 2-D U-Net trained on
the 5 labelled slices as images (`iter_train_folders`, as `unet-studio train --images --labels`). Both with
the same wall-clock budget and thread count, one after the other in this process, then scored on the 15
unlabelled slices: membrane Dice and pixel error (1 - accuracy). JSON with the CPU, load average and steps.
Usage: python benchmarks/volume_isbi.py [--seconds 180] [--threads 2] [--preset balanced] [--patch-depth 8]
       [--patch-size 96] [--batch-size 4] [--cpu native|no-bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dice, load_pairs  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine  # noqa: E402

import torch  # noqa: E402

from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.inference.volume_predictor import VolumePredictor  # noqa: E402
from unet_studio.models.config import ModelConfig  # noqa: E402
from unet_studio.training.api import iter_train_folders  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import StepEnded, TrainingFinished  # noqa: E402
from unet_studio.training.volume_api import iter_train_volumes  # noqa: E402

LABEL_EVERY = 4


def isbi_stack() -> tuple[np.ndarray, np.ndarray]:
    """(volume uint8 (20, 512, 512), membrane truth uint8 0/1 of the same shape)."""
    pairs = load_pairs("isbi2012_em_membranes")
    return np.stack([p[1] for p in pairs]), np.stack([p[2] for p in pairs])


def annotation(truth: np.ndarray) -> np.ndarray:
    """Annotation values of dense truth: 1 background (cell interior), 2 membrane."""
    return (truth > 0).astype(np.uint8) + 1


def follow(events) -> dict:
    """Run a training generator to its end: steps, seconds, final loss and the checkpoint."""
    steps, started, finished, last_loss = 0, time.perf_counter(), None, None
    for event in events:
        if isinstance(event, StepEnded):
            steps, last_loss = event.step, event.loss
        elif isinstance(event, TrainingFinished):
            finished = event
    return {"steps": steps, "train_seconds": round(time.perf_counter() - started, 1), "last_loss": last_loss,
            "checkpoint": finished.checkpoint_path, "reason": finished.reason}


def score(predicted: np.ndarray, truth: np.ndarray, planes: list[int]) -> dict:
    """Membrane Dice (mean over planes and pooled) and pixel error on `planes`."""
    per_plane = [dice(predicted[z], truth[z]) for z in planes]
    return {"membrane_dice_mean": round(float(np.mean(per_plane)), 4),
            "membrane_dice_pooled": round(dice(predicted[planes], truth[planes]), 4),
            "pixel_error": round(float((predicted[planes].astype(bool) != truth[planes].astype(bool)).mean()), 4)}


def run_2d(folder: Path, volume, truth, labelled, args) -> dict:
    images, labels = folder / "images2d", folder / "labels2d"
    images.mkdir()
    labels.mkdir()
    for z in labelled:
        cv2.imwrite(str(images / f"{z:02d}.png"), volume[z])
        cv2.imwrite(str(labels / f"{z:02d}.png"), annotation(truth[z]))
    train = TrainConfig(max_seconds=args.seconds, device="cpu", num_threads=args.threads, seed=0)
    model = ModelConfig.from_preset(args.preset)
    result = follow(iter_train_folders(images, labels, folder / "m2d.pt", model, train))
    started = time.perf_counter()
    predictor = Predictor.from_checkpoint(result["checkpoint"], device="cpu")
    masks = np.stack([predictor.predict(volume[z]).mask for z in range(volume.shape[0])])
    result["predict_seconds"] = round(time.perf_counter() - started, 1)
    result.update({"model": model.to_dict(), "patch": [train.patch_size, train.patch_size],
                   "batch_size": train.batch_size, "engine": predictor.engine})
    return result | {"masks": masks}


def run_3d(folder: Path, volume, truth, labelled, args) -> dict:
    images, labels = folder / "images3d", folder / "labels3d"
    images.mkdir()
    labels.mkdir()
    sparse = np.zeros(volume.shape, np.uint8)
    sparse[labelled] = annotation(truth[labelled])
    tifffile.imwrite(images / "isbi.tif", volume, imagej=True, metadata={"axes": "ZYX"})
    tifffile.imwrite(labels / "isbi.tif", sparse, imagej=True, metadata={"axes": "ZYX"})
    train = TrainConfig(max_seconds=args.seconds, device="cpu", num_threads=args.threads, seed=0,
                        patch_size=args.patch_size, batch_size=args.batch_size)
    model = ModelConfig.from_preset(args.preset, arch="unet3d")
    result = follow(iter_train_volumes(images, labels, folder / "m3d.pt", model, train, patch_depth=args.patch_depth))
    started = time.perf_counter()
    predictor = VolumePredictor.from_checkpoint(result["checkpoint"], device="cpu")
    masks = predictor.predict(volume).mask
    result["predict_seconds"] = round(time.perf_counter() - started, 1)
    config = predictor.tiles.model.config
    result.update({"model": config.to_dict(), "patch": [args.patch_depth, args.patch_size, args.patch_size],
                   "batch_size": args.batch_size})
    return result | {"masks": masks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--patch-depth", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    args = parser.parse_args()
    apply_cpu_mode(args.cpu)
    torch.set_num_threads(args.threads)
    volume, truth = isbi_stack()
    labelled = list(range(0, volume.shape[0], LABEL_EVERY))
    unlabelled = [z for z in range(volume.shape[0]) if z not in labelled]
    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (("unet2d", run_2d), ("unet3d", run_3d)):
            result = run(Path(tmp), volume, truth, labelled, args)
            masks = result.pop("masks")
            result.pop("checkpoint")
            results[name] = result | score(masks, truth, unlabelled)
    two, three = results["unet2d"], results["unet3d"]
    print(json.dumps({
        "benchmark": "volume_isbi", "volume": list(volume.shape), "labelled_slices": labelled,
        "scored_slices": unlabelled, "budget_s": args.seconds, "threads": args.threads,
        "load_average_before": load_before, "machine": machine(args.cpu), **results,
        "dice_3d_over_2d": round(three["membrane_dice_mean"] / max(two["membrane_dice_mean"], 1e-9), 3),
        "pixel_error_3d_over_2d": round(three["pixel_error"] / max(two["pixel_error"], 1e-9), 3),
    }, indent=2, default=str))


if __name__ == "__main__":
    main()
