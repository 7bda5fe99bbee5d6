"""Dense labels on real data: ISBI 2012 membranes (pixel error) and DSB 2018 nuclei (AP@0.5 of instances).

Trains through the same API as `unet-studio train --labels-format mask` for a wall-clock budget on the CPU,
then predicts the held-out images with the Predictor (instances by watershed for the nuclei) and scores them
with core.metrics. Prints JSON.

Splits: ISBI slices 00-14 train, 15-19 test (contiguous: neighbouring slices are correlated); DSB: a seeded
quarter of the 60 images (stratified by image size) is the test set.
Usage: python benchmarks/dense.py --dataset isbi|dsb [--seconds 300] [--preset balanced] [--config '{...}']
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dataset_dir, load_pairs  # noqa: E402

from unet_studio.core.metrics import evaluate_pair  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.models.config import ModelConfig  # noqa: E402
from unet_studio.training.api import iter_train_folders  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import TrainingFinished  # noqa: E402

DATASETS = {"isbi": "isbi2012_em_membranes", "dsb": "dsb2018_fluo_nuclei"}


def split(dataset: str, pairs):
    """(train, test) lists of (id, image, mask)."""
    if dataset == "isbi":
        return [p for p in pairs if int(p[0]) < 15], [p for p in pairs if int(p[0]) >= 15]
    rng = np.random.default_rng(2018)
    train, test = [], []
    for shape in sorted({p[1].shape for p in pairs}):
        group = [p for p in pairs if p[1].shape == shape]
        order = rng.permutation(len(group))
        n_test = max(1, len(group) // 4)
        test += [group[i] for i in order[:n_test]]
        train += [group[i] for i in order[n_test:]]
    return train, test


def train_model(train, seconds: float, preset: str, extra: dict, folder: Path) -> TrainingFinished:
    images, labels = folder / "images", folder / "labels"
    images.mkdir()
    labels.mkdir()
    for name, image, mask in train:
        cv2.imwrite(str(images / f"{name}.png"), image)
        cv2.imwrite(str(labels / f"{name}.png"), mask)
    config = TrainConfig(max_seconds=seconds, device="cpu", **extra)
    finished = None
    events = iter_train_folders(images, labels, folder / "model.pt", ModelConfig.from_preset(preset), config,
                                labels_format="mask", stop=threading.Event())
    for event in events:
        if isinstance(event, TrainingFinished):
            finished = event
    return finished


def score(dataset: str, predictor: Predictor, test) -> dict:
    results = {}
    folder = dataset_dir(DATASETS[dataset])
    for name, image, mask in test:
        instances = dataset == "dsb"
        pred = predictor.predict(image[:, :, None] if image.ndim == 2 else image, instances=instances)
        truth_instances = tifffile.imread(folder / "instances" / f"{name}.tif") if instances else None
        result = evaluate_pair(pred.mask, mask, 2, pred.instances, truth_instances, iou_thresholds=(0.5,))
        results[name] = {"pixel_error": result["pixel_error"], "dice": result["per_class"]["1"]["dice"],
                         **({"ap@0.5": result["ap@0.5"]} if instances else {})}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), required=True)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--config", default="{}", help="extra TrainConfig fields as JSON")
    parser.add_argument("--keep-model", help="copy the trained checkpoint here")
    args = parser.parse_args()
    pairs = load_pairs(DATASETS[args.dataset])
    train, test = split(args.dataset, pairs)
    with tempfile.TemporaryDirectory() as tmp:
        finished = train_model(train, args.seconds, args.preset, json.loads(args.config), Path(tmp))
        predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
        if args.keep_model:
            shutil.copyfile(finished.checkpoint_path, args.keep_model)
        per_image = score(args.dataset, predictor, test)
        history = finished.history
    keys = ["pixel_error", "dice"] + (["ap@0.5"] if args.dataset == "dsb" else [])
    print(json.dumps({
        "benchmark": f"dense {args.dataset}", "seconds": args.seconds, "preset": args.preset,
        "config": json.loads(args.config), "n_train": len(train), "n_test": len(test),
        "mean": {k: float(np.mean([r[k] for r in per_image.values()])) for k in keys},
        "steps": (history.get("steps") or [None])[-1], "threshold": predictor.threshold,
        "patches_per_s": (history.get("patches_per_s") or [None])[-1], "reason": finished.reason,
        "per_image": per_image,
    }, indent=2))


if __name__ == "__main__":
    main()
