"""The demo: the bundled nuclei sample made into a project, and the train -> predict -> evaluate run on it.

Qt-free and print-free: `unet-studio demo` (cli/demo.py) and the welcome page (gui/project_io.py) both call
it. The sample in resources/sample is copied, never written."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import unet_studio
from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.errors import ProjectError, StudioError
from unet_studio.core.images import list_images, read_image
from unet_studio.core.metrics import evaluate_pair
from unet_studio.core.project import Project

if TYPE_CHECKING:
    from unet_studio.training.config import TrainConfig

SAMPLE = Path(unet_studio.__file__).resolve().parents[1] / "resources" / "sample"
DEFAULT_DEMO_FOLDER = Path.home() / "unet-studio-demo"
SAMPLE_SPLITS = {"nuclei_01": "train", "nuclei_02": "train", "nuclei_03": "train", "nuclei_04": "val"}
STEPS_PER_EPOCH = 25
# The headless run's length is counted in steps, so its figures are the same on a fast and a slow machine;
# it ends sooner when the validation Dice stops improving, and the seconds are only a cap (a CPU three times
# slower than the development one still finishes the steps within it: benchmarks/demo_slow_cpu.py).
DEMO_STEPS = 250
DEMO_CAP_SECONDS = 300.0
DEMO_PATIENCE = 4


def prepare_demo_project(folder: Path, sample: Path = SAMPLE) -> Project:
    """A project of the sample's six images: four labelled from their masks (three train, one val), two left
    for prediction (split 'test'); truth masks and instances are copied beside it for evaluation. An
    existing demo project in `folder` is opened as it is."""
    folder = Path(folder)
    if (folder / "project.json").exists():
        return Project.open(folder)
    if not (sample / "images").is_dir():
        raise StudioError(sample, "the bundled sample is missing from this installation")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(folder, f"cannot create the demo folder ({exc.strerror or exc})") from exc
    for name in ("images", "truth", "truth_instances"):
        source = sample / {"images": "images", "truth": "masks", "truth_instances": "instances"}[name]
        shutil.copytree(source, folder / name, dirs_exist_ok=True)
    project = Project.create(folder, image_paths=list_images(folder / "images"), name="Nuclei demo")
    for record in project.images:
        split = SAMPLE_SPLITS.get(record.id, "test")
        project.set_split(record.id, split)
        if split != "test":
            mask = read_image(folder / "truth" / f"{record.id}.png").pixels[:, :, 0]
            project.save_annotation(record.id, mask_to_annotation(mask))
    project.save()
    return project


def demo_train_config(seconds: float = DEMO_CAP_SECONDS, steps: int = DEMO_STEPS) -> TrainConfig:
    """The headless demo's training settings: `steps` steps at most, ending at a validation plateau or at the
    `seconds` cap."""
    from unet_studio.training.config import TrainConfig  # lazy: torch, and the GUI needs only the project

    return TrainConfig(max_steps=steps, max_seconds=seconds, steps_per_epoch=STEPS_PER_EPOCH,
                       early_stopping_patience=DEMO_PATIENCE)


def iter_train_demo(project: Project, config: TrainConfig, stop: threading.Event | None = None) -> Iterator:
    """Training events (training/events.py) of a run on the demo's labelled images; setting `stop` ends the run
    with the best checkpoint saved."""
    from unet_studio.training.api import iter_train_project

    return iter_train_project(project, train_config=config, stop=stop)


def predict_and_score(project: Project, checkpoint_path: Path) -> dict:
    """Predict the 'test' images with the model (predictions saved in the project) and score them against
    the copied truth: per image Dice of the nuclei class, the DSB 2018 AP at IoU 0.5 ("ap@0.5": TP / (TP + FP + FN))
    and object counts, plus the means and the COCO-style AP of both images' nuclei ("coco_ap@0.5",
    core.coco_ap)."""
    from unet_studio.core.coco_ap import coco_average_precision, coco_matches
    from unet_studio.inference.predictor import Predictor

    predictor = Predictor.from_checkpoint(checkpoint_path)
    results, matches = {}, []
    for record in project.images:
        if record.split != "test":
            continue
        pixels = read_image(project.image_path(record.id)).pixels
        prediction = predictor.predict(pixels, instances=True)
        project.save_prediction(record.id, prediction.mask)
        truth = read_image(project.folder / "truth" / f"{record.id}.png").pixels[:, :, 0]
        truth_instances = read_image(project.folder / "truth_instances" / f"{record.id}.tif").pixels[:, :, 0]
        scores = evaluate_pair(prediction.mask, truth, 2, prediction.instances, truth_instances, iou_thresholds=(0.5,))
        matches.append(coco_matches(prediction.instances, truth_instances))
        results[record.id] = {"dice": scores["per_class"]["1"]["dice"], "ap@0.5": scores["ap@0.5"],
                              "nuclei_found": int(prediction.instances.max()),
                              "nuclei_true": int(truth_instances.max())}
    return {
        "test_images": results,
        "mean_dice": float(np.mean([r["dice"] for r in results.values()])) if results else None,
        "mean_ap@0.5": float(np.mean([r["ap@0.5"] for r in results.values()])) if results else None,
        "coco_ap@0.5": coco_average_precision(matches) if matches else None,
    }
