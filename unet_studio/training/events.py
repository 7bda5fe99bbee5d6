"""Immutable events that Trainer.iter_fit yields; the only values that cross from the training thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StepEnded:
    """One optimiser step finished; `loss` is that batch's loss."""

    step: int
    epoch: int
    loss: float
    lr: float
    patches_per_s: float
    elapsed_s: float


@dataclass(frozen=True)
class EpochEnded:
    """An epoch finished. `val_metrics` holds per-class dice/iou and their mean over object classes
    ("mean_dice", "mean_iou"); empty without validation images. `best` is True when this epoch's weights
    became the saved checkpoint. `collapsed_to` is the one network class (0 = background: it finds nothing)
    the model predicted for every validation pixel, else None; a Log with the warning follows the event."""

    epoch: int
    train_loss: float
    val_loss: float | None
    val_metrics: dict[str, float]
    lr: float
    elapsed_s: float
    best: bool
    collapsed_to: int | None = None


@dataclass(frozen=True, eq=False)
class PreviewReady:
    """Class probabilities float32 (K, H, W) of the preview image (a private copy), made by the weights of
    step `step`. With a `region` (y0, x0, y1, x1) they cover only that rectangle of the image."""

    epoch: int
    image_index: int
    probabilities: np.ndarray
    step: int = 0
    region: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class TrainingFinished:
    """Training ended; `checkpoint_path` is None only when nothing could be saved. `reason` says why it
    ended in one line (limit reached, stopped by the user, loss became NaN...)."""

    checkpoint_path: Path | None
    history: dict[str, Any]
    interrupted: bool
    reason: str


@dataclass(frozen=True)
class Log:
    """A one-line note for the user (device chosen, batch size halved, head re-initialised...)."""

    message: str


@dataclass(frozen=True)
class LabelsReloaded:
    """Live training: the training set changed (labels edited on disk, images joined or dropped, splits
    changed). `version` counts the changes from 1; `step` is the number of steps done when it took effect
    (every later step trains on the new labels); `changed` names the images (annotation file stems, which
    are the project's image ids) whose labels or membership changed."""

    version: int
    step: int
    train_images: int
    val_images: int
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ModelKept:
    """Live training: the weights of step `step` were saved as a normal checkpoint at `path`."""

    path: Path
    step: int


TrainingEvent = StepEnded | EpochEnded | PreviewReady | TrainingFinished | Log | LabelsReloaded | ModelKept
