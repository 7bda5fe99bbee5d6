"""Helpers for the training GUI tests: a labelled blob project and a tiny, fast training configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_blobs
from tests.gui.helpers import make_project
from unet_studio.core.project import Project
from unet_studio.gui.training_settings import TrainingSettings
from unet_studio.training.api import iter_train_project

TINY = TrainingSettings(preset="fast", augment="light", limit="seconds", seconds=60, device="cpu",
                        model_overrides={"depth": 2, "base_channels": 4},
                        train_overrides={"patch_size": 32, "batch_size": 2, "steps_per_epoch": 3, "amp": False,
                                         "early_stopping_patience": 1000})


def labelled_project(folder: Path, n_images: int = 3, size: int = 64) -> Project:
    """make_project's blob images with their masks imported as annotations (background 1, blobs 2); the
    unused second object class is removed, so models trained on it have two outputs."""
    project = make_project(folder, n_images=n_images, size=size)
    for info in reversed(project.classes):  # keep background and one object class
        if info.value > 2:
            project.remove_class(info.value)
    for i, record in enumerate(project.images):
        _, mask = make_blobs((size, size), seed=i)
        project.save_annotation(record.id, mask.astype(np.uint8) + 1)
    return project


def gaps_ms(stamps: list[float]) -> np.ndarray:
    """Intervals between timer ticks in milliseconds."""
    return np.diff(np.asarray(stamps)) * 1000.0


def train_tiny_checkpoint(folder: Path) -> Path:
    """A real tiny two-class checkpoint trained on a blob project (no GUI involved): 2 x 15 steps, enough to
    tell blobs from background (with fewer it predicts one class everywhere, which the QC flags)."""
    project = labelled_project(folder / "source")
    out = folder / "tiny.pt"
    settings = replace(TINY, limit="epochs", epochs=2, train_overrides={**TINY.train_overrides, "steps_per_epoch": 15})
    train_config = settings.train_config()
    events = list(iter_train_project(project, out, TINY.model_config(), train_config))
    assert events[-1].checkpoint_path is not None
    return out


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return train_tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"))


def with_model(project: Project, checkpoint: Path) -> Project:
    """The project with a copy of `checkpoint` registered as its active model."""
    record = project.add_model(checkpoint, "tiny", "unet", 3, 0.5)
    project.set_active_model(record.id)
    return project
