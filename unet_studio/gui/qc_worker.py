"""Quality control after training: per-class Dice/IoU of the new and the previous model on the validation
images, computed in a worker thread with the Predictor and core.metrics.

`score_model` is plain Python (no Qt), so it can be reused and tested on its own.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.annotations import read_annotation
from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.core.metrics import confusion, dice_iou_per_class
from unet_studio.core.model_choice import is_worse
from unet_studio.inference.predictor import Predictor
from unet_studio.gui.training_worker import one_line_failure


@dataclass(frozen=True)
class QcImage:
    """One validation image: its file and its annotation file (1 = background, 2.. = classes)."""

    image_id: str
    image_path: Path
    annotation_path: Path


@dataclass(frozen=True)
class ModelScores:
    """Per-class {k: (dice, iou)} (None where a class is absent from both sides), the foreground mean Dice,
    and whether the model predicted no object pixel on any image."""

    model_id: str
    name: str
    per_class: dict[int, tuple[float | None, float | None]]
    mean_dice: float | None
    predicts_nothing: bool
    problems: tuple[str, ...] = field(default_factory=tuple)


def score_model(model_id: str, name: str, checkpoint: Path, images: list[QcImage],
                stop: threading.Event | None = None) -> ModelScores:
    """Predict every image and score the labelled pixels (unlabelled pixels are ignored)."""
    predictor = Predictor.from_checkpoint(checkpoint)
    n_classes = int(predictor.model.config.num_classes)
    table = np.zeros((n_classes, n_classes), np.int64)
    any_object, problems = False, []
    for item in images:
        if stop is not None and stop.is_set():
            break
        try:
            pixels = read_image(item.image_path).pixels
            annotation = read_annotation(item.annotation_path, pixels.shape[:2])
            result = predictor.predict(pixels, stop=stop, source=item.image_path.name)
        except StudioError as error:
            problems.append(str(error))
            continue
        if result is None:
            break
        truth = annotation.astype(np.int64) - 1
        labelled = truth >= 0
        if truth.max(initial=0) >= n_classes:
            problems.append(f"{item.annotation_path.name}: has classes the model {name} does not know; ignored")
            labelled &= truth < n_classes
        any_object = any_object or bool(result.mask.any())
        table += confusion(result.mask, np.where(labelled, truth, 0), n_classes, ignore=~labelled)
    scores = dice_iou_per_class(table)
    per_class = {int(k): (v["dice"], v["iou"]) for k, v in scores["per_class"].items()}
    return ModelScores(model_id, name, per_class, scores["mean_dice_foreground"], not any_object, tuple(problems))


def warnings_for(new: ModelScores, previous: ModelScores | None) -> list[str]:
    """One line per reason to be wary of the new model."""
    lines = []
    if new.predicts_nothing:
        lines.append(f"{new.name} predicts no objects on the validation images (no masks found after training): "
                     "label more objects or train longer")
    if previous is not None and is_worse(new.mean_dice, previous.mean_dice):
        lines.append(f"{new.name} is worse than {previous.name} (mean Dice {new.mean_dice:.3f} vs "
                     f"{previous.mean_dice:.3f})")
    return lines


class QcWorker(QObject):
    """Scores the new model and, if given, the previous one; emits `scored(new, previous)` then `finished`."""

    scored = Signal(object, object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, models: list[tuple[str, str, Path]], images: list[QcImage]):
        super().__init__()
        self.models, self.images = list(models), list(images)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        try:
            results = [score_model(model_id, name, path, self.images, self._stop)
                       for model_id, name, path in self.models]
            if not self._stop.is_set():
                self.scored.emit(results[0], results[1] if len(results) > 1 else None)
        except Exception as error:  # one line, never a traceback
            self.failed.emit(one_line_failure(error, "quality check"))
        finally:
            self.finished.emit()
