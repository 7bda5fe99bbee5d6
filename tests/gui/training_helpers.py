"""Helpers for the training GUI tests: a labelled blob project and a tiny, fast training configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import make_blobs
from tests.gui.helpers import make_project
from unet_studio.core.project import Project
from unet_studio.gui.training_settings import TrainingSettings

TINY = TrainingSettings(preset="fast", augment="light", limit="seconds", seconds=60, device="cpu",
                        model_overrides={"depth": 2, "base_channels": 4},
                        train_overrides={"patch_size": 32, "batch_size": 2, "steps_per_epoch": 3, "amp": False,
                                         "early_stopping_patience": 1000})


def labelled_project(folder: Path, n_images: int = 3, size: int = 64) -> Project:
    """make_project's blob images with their masks imported as annotations (background 1, blobs 2)."""
    project = make_project(folder, n_images=n_images, size=size)
    for i, record in enumerate(project.images):
        _, mask = make_blobs((size, size), seed=i)
        project.save_annotation(record.id, mask.astype(np.uint8) + 1)
    return project


def gaps_ms(stamps: list[float]) -> np.ndarray:
    """Intervals between timer ticks in milliseconds."""
    return np.diff(np.asarray(stamps)) * 1000.0
