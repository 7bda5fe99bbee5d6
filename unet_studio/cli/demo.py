"""`unet-studio demo`: the bundled nuclei sample as a project; the app where there is a screen, else a
headless train -> predict -> evaluate run that shows the whole job end to end."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np

import unet_studio
from unet_studio.cli.output import info
from unet_studio.cli.train import follow_training
from unet_studio.core.errors import StudioError
from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.images import list_images, read_image
from unet_studio.core.metrics import evaluate_pair
from unet_studio.core.project import Project
from unet_studio.inference.predictor import Predictor
from unet_studio.training.api import iter_train_project
from unet_studio.training.config import TrainConfig

SAMPLE = Path(unet_studio.__file__).resolve().parents[1] / "resources" / "sample"
SPLITS = {"nuclei_01": "train", "nuclei_02": "train", "nuclei_03": "train", "nuclei_04": "val"}
# The headless run's length is counted in steps, so its figures are the same on a fast and a slow machine;
# it ends sooner when the validation Dice stops improving, and the seconds are only a cap (a CPU three times
# slower than the development one still finishes the steps within it: benchmarks/demo_slow_cpu.py).
DEMO_STEPS = 250
DEMO_CAP_SECONDS = 300.0
DEMO_STEPS_PER_EPOCH = 25
DEMO_PATIENCE = 4


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="open the bundled sample (headless train + predict without a screen)")
    p.add_argument("--out", default=str(Path.home() / "unet-studio-demo"),
                   help="where the demo project is made (default ~/unet-studio-demo); the sample is copied")
    p.add_argument("--headless", action="store_true", help="train and predict without a window")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"training steps of the headless run "
                   f"(default {DEMO_STEPS}; it stops sooner once the validation Dice stops improving)")
    p.add_argument("--seconds", type=float, default=DEMO_CAP_SECONDS,
                   help=f"time cap of the headless run (default {DEMO_CAP_SECONDS:.0f} s)")
    p.set_defaults(handler=run)


def has_display() -> bool:
    """Whether a window can be shown (an offscreen Qt platform counts as none)."""
    from unet_studio.cli.main import display_problem

    return display_problem() is None and os.environ.get("QT_QPA_PLATFORM", "") not in ("offscreen", "minimal")


def prepare_demo_project(folder: Path, sample: Path = SAMPLE) -> Project:
    """A project of the sample's six images: four labelled from their masks (three train, one val), two left
    for prediction (split 'test'); truth masks and instances are copied beside it for evaluation."""
    if (folder / "project.json").exists():
        return Project.open(folder)
    if not (sample / "images").is_dir():
        raise StudioError(sample, "the bundled sample is missing from this installation")
    for name in ("images", "truth", "truth_instances"):
        source = sample / {"images": "images", "truth": "masks", "truth_instances": "instances"}[name]
        shutil.copytree(source, folder / name, dirs_exist_ok=True)
    project = Project.create(folder, image_paths=list_images(folder / "images"), name="Nuclei demo")
    for record in project.images:
        split = SPLITS.get(record.id, "test")
        project.set_split(record.id, split)
        if split != "test":
            mask = read_image(folder / "truth" / f"{record.id}.png").pixels[:, :, 0]
            project.save_annotation(record.id, mask_to_annotation(mask))
    project.save()
    return project


def run(args: argparse.Namespace) -> int:
    folder = Path(args.out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    project = prepare_demo_project(folder)
    if not args.headless and has_display():
        from unet_studio.cli.main import run_gui

        return run_gui(argparse.Namespace(path=str(folder)))
    if not args.headless:
        info("no display found: running the headless demo (train, predict, evaluate)")
    return run_headless(project, args.seconds, args.steps)


def demo_config(seconds: float = DEMO_CAP_SECONDS, steps: int = DEMO_STEPS) -> TrainConfig:
    """The headless demo's training settings: `steps` steps at most, ending at a plateau or the `seconds` cap."""
    return TrainConfig(max_steps=steps, max_seconds=seconds, steps_per_epoch=DEMO_STEPS_PER_EPOCH,
                       early_stopping_patience=DEMO_PATIENCE)


def run_headless(project: Project, seconds: float = DEMO_CAP_SECONDS, steps: int = DEMO_STEPS) -> int:
    """Train on the labelled images, predict the test images, score them against the truth; print JSON."""
    config = demo_config(seconds, steps)
    info(f"training for up to {steps} steps (at most {seconds:.0f} s) on {project.folder} ...")
    finished = follow_training(iter_train_project(project, train_config=config), config, threading.Event())
    if finished is None or finished.checkpoint_path is None:
        return 1
    summary = score_demo(project, finished)
    print(json.dumps(summary, indent=2))
    info(f"predictions saved in {project.folder / 'predictions'}; open the project with: unet-studio {project.folder}")
    return 0


def score_demo(project: Project, finished) -> dict:
    """Predict the project's test images with the finished model, save the masks, score them against truth."""
    predictor = Predictor.from_checkpoint(finished.checkpoint_path)
    results = {}
    for record in project.images:
        if record.split != "test":
            continue
        pixels = read_image(project.image_path(record.id)).pixels
        prediction = predictor.predict(pixels, instances=True)
        project.save_prediction(record.id, prediction.mask)
        truth = read_image(project.folder / "truth" / f"{record.id}.png").pixels[:, :, 0]
        truth_instances = read_image(project.folder / "truth_instances" / f"{record.id}.tif").pixels[:, :, 0]
        scores = evaluate_pair(prediction.mask, truth, 2, prediction.instances, truth_instances, iou_thresholds=(0.5,))
        results[record.id] = {"dice": scores["per_class"]["1"]["dice"], "ap@0.5": scores["ap@0.5"],
                              "nuclei_found": int(prediction.instances.max()), "nuclei_true": int(truth_instances.max())}
    steps = finished.history.get("steps") or [0]
    return {
        "project": str(project.folder),
        "model": str(finished.checkpoint_path),
        "training": finished.reason,
        "steps": steps[-1],
        "test_images": results,
        "mean_dice": float(np.mean([r["dice"] for r in results.values()])) if results else None,
        "mean_ap@0.5": float(np.mean([r["ap@0.5"] for r in results.values()])) if results else None,
    }
