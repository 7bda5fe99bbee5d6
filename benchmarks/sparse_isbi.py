"""Sparse scribbles on 5 ISBI 2012 slices: UNet Studio vs scikit-image's random-forest segmenter.

Both learn from the same scribbles (about 2% of pixels, strokes inside each class, see scribbles.py) on
slices 00-04 and are scored by membrane Dice on slices 10-19 (a contiguous block: neighbouring slices are
strongly correlated). Ours trains through the same API as `unet-studio train` for a wall-clock budget on
the CPU; the peer is `skimage.future.fit_segmenter` on multiscale basic features, as in scikit-image's
trainable-segmentation example. Prints JSON. Needs scikit-learn for the peer (pip install scikit-learn).

Usage: python benchmarks/sparse_isbi.py [--seconds 120] [--fraction 0.02] [--preset balanced]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dice, load_pairs  # noqa: E402
from model_choice import add_model_options, preset_name  # noqa: E402
from scribbles import make_scribbles  # noqa: E402

from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.models.config import ModelConfig  # noqa: E402
from unet_studio.training.api import iter_train_folders  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import EpochEnded, TrainingFinished  # noqa: E402

TRAIN_IDS = ["00", "01", "02", "03", "04"]
TEST_IDS = [f"{i:02d}" for i in range(10, 20)]


def random_forest(train, test, annotations) -> dict:
    """The scikit-image trainable segmentation peer on the same scribbles."""
    from functools import partial

    from sklearn.ensemble import RandomForestClassifier
    from skimage.feature import multiscale_basic_features
    from skimage.future import fit_segmenter, predict_segmenter

    features = partial(multiscale_basic_features, intensity=True, edges=True, texture=True,
                       sigma_min=1, sigma_max=16)
    start = time.perf_counter()
    train_features = np.concatenate([features(image) for _, image, _ in train], axis=1)
    labels = np.concatenate(annotations, axis=1)
    clf = RandomForestClassifier(n_estimators=50, n_jobs=-1, max_depth=10, max_samples=0.05, random_state=0)
    clf = fit_segmenter(labels, train_features, clf)
    fit_s = time.perf_counter() - start
    scores = {}
    for name, image, mask in test:
        pred = predict_segmenter(features(image), clf)
        scores[name] = dice(pred == 2, mask)
    return {"membrane_dice": float(np.mean(list(scores.values()))), "fit_s": round(fit_s, 1),
            "per_slice": {k: round(v, 4) for k, v in scores.items()}}


def train_and_predict(train, annotations, seconds: float, preset: str, extra: dict, model_overrides: dict,
                      evaluate, keep_model: bool = False):
    """Train UNet Studio on the scribbles through training.api for `seconds` on the CPU (or `max_steps` steps
    when `extra` has it, whatever the time: runs that do not depend on what else the machine runs); returns the run's
    summary (with the checkpoint's threshold) and the foreground probability of each (name, image, mask) in
    `evaluate` (and the predictor's network with `keep_model`). Slices whose annotation has no labelled pixel
    are left out, as a user's unlabelled images."""
    with tempfile.TemporaryDirectory() as tmp:
        images, labels = Path(tmp, "images"), Path(tmp, "labels")
        images.mkdir()
        labels.mkdir()
        for (name, image, _), annotation in zip(train, annotations):
            if annotation.any():
                cv2.imwrite(str(images / f"{name}.png"), image)
                cv2.imwrite(str(labels / f"{name}.png"), annotation)
        limits = {"max_steps": int(extra.pop("max_steps"))} if "max_steps" in extra else {"max_seconds": seconds}
        config = TrainConfig(device="cpu", **limits, **extra)
        model_config = ModelConfig.from_preset(preset, **model_overrides)
        out = Path(tmp, "model.pt")
        epochs, finished = [], None
        for event in iter_train_folders(images, labels, out, model_config, config, stop=threading.Event()):
            if isinstance(event, EpochEnded):
                epochs.append(event)
            elif isinstance(event, TrainingFinished):
                finished = event
        predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
        foreground = {name: predictor.predict(image[:, :, None]).probabilities[1] for name, image, _ in evaluate}
        history = finished.history
    summary = {
        "threshold": predictor.threshold,
        "epochs": len(epochs),
        "steps": history["steps"][-1] if history.get("steps") else None,
        "seconds": round(history["seconds"][-1], 1) if history.get("seconds") else None,
        "patches_per_s": history["patches_per_s"][-1] if history.get("patches_per_s") else None,
        "reason": finished.reason,
    }
    return (summary, foreground, predictor.model) if keep_model else (summary, foreground)


def ours(train, test, annotations, seconds: float, preset: str, extra: dict, model_overrides: dict) -> dict:
    """UNet Studio trained on the scribbles, scored with the checkpoint's own rule (threshold or argmax)."""
    summary, foreground = train_and_predict(train, annotations, seconds, preset, extra, model_overrides, test)
    cut = 0.5 if summary["threshold"] is None else summary["threshold"]
    scores = {name: dice(foreground[name] >= cut, mask) for name, _, mask in test}
    return {"membrane_dice": float(np.mean(list(scores.values()))), **summary,
            "per_slice": {k: round(v, 4) for k, v in scores.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--fraction", type=float, default=0.02)
    add_model_options(parser)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--config", default="{}", help="extra TrainConfig fields as JSON (max_steps: a step budget)")
    args = parser.parse_args()
    train = load_pairs("isbi2012_em_membranes", TRAIN_IDS)
    test = load_pairs("isbi2012_em_membranes", TEST_IDS)
    annotations = [make_scribbles(mask, args.fraction, seed=i) for i, (_, _, mask) in enumerate(train)]
    labelled = float(np.mean([(a > 0).mean() for a in annotations]))
    result = {"benchmark": "sparse scribbles, ISBI 2012", "train_slices": TRAIN_IDS, "test_slices": TEST_IDS,
              "labelled_fraction": round(labelled, 4), "seconds": args.seconds}
    result["config"], result["model"] = json.loads(args.config), json.loads(args.model)
    result["preset"] = preset_name(args)
    result["ours"] = ours(train, test, annotations, args.seconds, result["preset"], result["config"], result["model"])
    if not args.skip_peer:
        result["random_forest"] = random_forest(train, test, annotations)
        result["dice_difference"] = round(result["ours"]["membrane_dice"] - result["random_forest"]["membrane_dice"], 4)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
