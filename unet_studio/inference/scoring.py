"""Scoring a saved model on labelled images, as the quality check after training does: the masks the
Predictor makes (the model's saved threshold applied), pooled over the images' labelled pixels, scored by
core.metrics (mean Dice over the object classes). Qt-free: the GUI's QcWorker runs it in a thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import read_annotation
from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.core.metrics import collapse_warning, confusion, dice_iou_per_class, single_predicted_class
from unet_studio.core.model_choice import is_worse
from unet_studio.core.plane_labels import read_label_plane
from unet_studio.inference.predictor import Predictor



@dataclass(frozen=True)
class QcImage:
    """One validation image plane: its file and its annotation file (1 = background, 2.. = classes); a
    stack's `plane` of its `n_planes` (one multi-page annotation file, core.plane_labels)."""

    image_id: str
    image_path: Path
    annotation_path: Path
    plane: int = 0
    n_planes: int = 1

    @property
    def name(self) -> str:
        """As training names its item (the checkpoint's validation_images): 'a.tif', 'a.tif [plane 2]'."""
        return self.image_path.name if self.n_planes == 1 else f"{self.image_path.name} [plane {self.plane}]"


@dataclass(frozen=True)
class ModelScores:
    """Per-class {k: (dice, iou)} (None where a class is absent from both sides), the mean Dice over object
    classes, and `collapsed_to`: the one network class (0 = background) predicted for every pixel of every
    image, named by `collapsed_name`, else None."""

    model_id: str
    name: str
    per_class: dict[int, tuple[float | None, float | None]]
    mean_dice: float | None
    collapsed_to: int | None = None
    collapsed_name: str | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def predicts_nothing(self) -> bool:
        return self.collapsed_to == 0


def score_model(model_id: str, name: str, checkpoint: Path, images: list[QcImage],
                stop: threading.Event | None = None) -> ModelScores:
    """Predict every image and score the labelled pixels (unlabelled pixels are ignored)."""
    predictor = Predictor.from_checkpoint(checkpoint)
    n_classes = predictor.n_classes
    table = np.zeros((n_classes, n_classes), np.int64)
    predicted = np.zeros(n_classes, np.int64)
    problems = []
    for item in images:
        if stop is not None and stop.is_set():
            break
        try:
            pixels = read_image(item.image_path, plane=item.plane).pixels
            annotation = (read_annotation(item.annotation_path, pixels.shape[:2]) if item.n_planes == 1 else
                          read_label_plane(item.annotation_path, item.plane, item.n_planes, pixels.shape[:2]))
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
        predicted += np.bincount(result.mask.ravel(), minlength=n_classes)[:n_classes]
        table += confusion(result.mask, np.where(labelled, truth, 0), n_classes, ignore=~labelled)
    scores = dice_iou_per_class(table)
    per_class = {int(k): (v["dice"], v["iou"]) for k, v in scores["per_class"].items()}
    collapsed = single_predicted_class(predicted)
    class_names = [c["name"] for c in predictor.classes] if predictor.classes else []
    collapsed_name = None
    if collapsed is not None:
        collapsed_name = class_names[collapsed] if collapsed < len(class_names) else f"class {collapsed}"
    return ModelScores(model_id, name, per_class, scores["mean_dice"], collapsed, collapsed_name, tuple(problems))


def warnings_for(new: ModelScores, previous: ModelScores | None) -> list[str]:
    """One line per reason to be wary of the new model."""
    lines = []
    if new.collapsed_to is not None:
        lines.append(collapse_warning(new.name, new.collapsed_name, new.collapsed_to == 0))
    if previous is not None and is_worse(new.mean_dice, previous.mean_dice):
        lines.append(f"{new.name} is worse than {previous.name} (mean Dice {new.mean_dice:.3f} vs "
                     f"{previous.mean_dice:.3f})")
    return lines
