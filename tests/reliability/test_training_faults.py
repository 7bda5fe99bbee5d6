"""Training faults not covered by tests/training: inf loss, OOM at batch size 1, nothing or one class labelled.

tests/training/test_trainer.py already proves: NaN loss stops and keeps the last good checkpoint, an
out-of-memory step halves the batch, no training images and channel mismatches are TrainingErrors.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
import torch

import unet_studio.training.trainer as trainer_module
from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.core.project import Project
from unet_studio.data.sampling import TrainItem
from unet_studio.training.api import iter_train_project
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.events import TrainingFinished
from unet_studio.training.trainer import Trainer


def _finish(trainer: Trainer) -> TrainingFinished:
    events = list(trainer.iter_fit(threading.Event()))
    assert isinstance(events[-1], TrainingFinished)
    return events[-1]


def test_infinite_loss_stops_and_keeps_a_finite_checkpoint(tmp_path, monkeypatch):
    calls, real_loss = {"n": 0}, trainer_module.combined_loss

    def loss_that_explodes(*args, **kwargs):
        calls["n"] += 1
        value = real_loss(*args, **kwargs)
        return value * float("inf") if calls["n"] == 4 else value

    monkeypatch.setattr(trainer_module, "combined_loss", loss_that_explodes)
    finished = _finish(Trainer(TINY_MODEL, tiny_config(epochs=3, steps_per_epoch=3), blob_items(1), [], CLASSES,
                               tmp_path / "m.pt"))
    assert finished.interrupted and "loss became" in finished.reason and "step 4" in finished.reason
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.history["epochs"] == [1]
    assert all(torch.isfinite(t).all() for t in checkpoint.state_dict.values())


def test_out_of_memory_at_batch_size_one_explains_and_ends(tmp_path, monkeypatch):
    def always_out_of_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(Trainer, "_train_step", always_out_of_memory)
    finished = _finish(Trainer(TINY_MODEL, tiny_config(batch_size=4, epochs=1), blob_items(1), [], CLASSES,
                               tmp_path / "m.pt"))
    assert finished.interrupted and "batch size 1" in finished.reason and "\n" not in finished.reason


def _items_with_targets(*targets: int) -> list[TrainItem]:
    items = []
    for item, value in zip(blob_items(len(targets)), targets):
        items.append(TrainItem(item.image, np.full_like(item.target, value), name=item.name))
    return items


@pytest.mark.parametrize(("targets", "reason"), [
    ((-1, -1), "no labelled pixels"),
    ((0, 0), "only background is labelled"),
    ((1, -1), "only class 1 is labelled"),
])
def test_nothing_or_one_class_labelled_is_a_training_error(tmp_path, targets, reason):
    with pytest.raises(TrainingError) as caught:
        Trainer(TINY_MODEL, tiny_config(), _items_with_targets(*targets), [], CLASSES, tmp_path / "m.pt")
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def _project(tmp_path, annotation_value: int | None) -> Project:
    image = tmp_path / "im.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))
    project = Project.create(tmp_path / "proj", [image])
    if annotation_value is not None:
        project.save_annotation("im", np.full((40, 40), annotation_value, np.uint8))
    return project


@pytest.mark.parametrize(("annotation_value", "reason"), [
    (None, "no labelled training image"),
    (1, "only background is labelled"),
])
def test_project_without_usable_labels_is_a_training_error(tmp_path, annotation_value, reason):
    project = _project(tmp_path, annotation_value)
    with pytest.raises(TrainingError) as caught:
        list(iter_train_project(project, train_config=tiny_config(epochs=1)))
    assert reason in str(caught.value) and "\n" not in str(caught.value)
