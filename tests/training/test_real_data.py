"""Training on real fluorescence nuclei (../shared/data): reading, pairing and a short run end to end."""

import threading

import numpy as np
import pytest

from tests.training.helpers import CLASSES, TINY_MODEL, tiny_config
from unet_studio.core.images import list_images
from unet_studio.training.api import load_training_items
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.events import EpochEnded, StepEnded
from unet_studio.training.trainer import Trainer


@pytest.mark.shared_data
def test_short_run_on_real_nuclei(shared_data, tmp_path):
    folder = shared_data / "dsb2018_fluo_nuclei"
    images = list_images(folder / "images")[:4]
    items, problems = load_training_items(images, list_images(folder / "masks"), labels_format="mask")
    assert problems == [] and len(items) == 4
    assert all(set(np.unique(item.target)) == {0, 1} for item in items)
    trainer = Trainer(TINY_MODEL, tiny_config(patch_size=64, epochs=1, steps_per_epoch=15, lr=1e-2),
                      items[:3], items[3:], CLASSES, tmp_path / "nuclei.pt")
    events = list(trainer.iter_fit(threading.Event()))
    losses = [e.loss for e in events if isinstance(e, StepEnded)]
    assert len(losses) == 15 and np.mean(losses[-3:]) < np.mean(losses[:3])
    epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert 0.0 <= epoch.val_metrics["dice/background"] <= 1.0
    assert load_checkpoint(events[-1].checkpoint_path).history["steps"] == [15]
