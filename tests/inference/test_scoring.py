"""One definition of a model's score: the Dice that training saves (training line, Models panel, model card)
is the Dice the quality check computes from the saved file on the same validation images."""

import cv2
import pytest

from tests.conftest import make_blobs
from tests.training.helpers import tiny_config
from unet_studio.core.project import Project
from unet_studio.inference.scoring import QcImage, score_model
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_project
from unet_studio.training.events import EpochEnded


def _blob_project(folder, count=3, size=48):
    images = folder / "images"
    images.mkdir(parents=True)
    for index in range(count):
        image, _ = make_blobs((size, size), n=4, radius=5, seed=index)
        cv2.imwrite(str(images / f"blob_{index}.png"), image)
    project = Project.create(folder / "project", sorted(images.iterdir()))
    for index, record in enumerate(project.images):
        project.save_annotation(record.id, make_blobs((size, size), n=4, radius=5, seed=index)[1] + 1)
    project.set_split(project.images[-1].id, "val")
    return project


def test_saved_score_is_the_quality_check_score(tmp_path):
    project = _blob_project(tmp_path)
    events = list(iter_train_project(project, model_config=ModelConfig(depth=2, base_channels=4),
                                     train_config=tiny_config(epochs=3, amp=False)))
    checkpoint = load_checkpoint(events[-1].checkpoint_path)
    best = [e for e in events if isinstance(e, EpochEnded) and e.best][-1]
    record = project.models[-1]
    val = project.images[-1]
    images = [QcImage(val.id, project.image_path(val.id), project.annotation_path(val.id))]
    checked = score_model(record.id, record.name, project.model_path(record.id), images)
    assert checkpoint.history["validation_images"] == [project.image_path(val.id).name]
    assert record.val_dice == pytest.approx(checkpoint.metrics["mean_dice"])
    assert record.val_dice == pytest.approx(best.val_metrics["mean_dice"])
    assert checked.mean_dice == pytest.approx(record.val_dice, abs=1e-6)
    assert checked.collapsed_to == best.collapsed_to
