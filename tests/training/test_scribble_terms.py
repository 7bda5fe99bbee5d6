"""The Trainer's scribble terms: the unlabelled-pixel entropy (ramped in) and the stroke contact rim."""

import threading

import numpy as np
import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.data.sampling import TrainItem
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import StepEnded, TrainingFinished
from unet_studio.training.trainer import Trainer


def _steps(trainer):
    events = list(trainer.iter_fit(threading.Event()))
    assert isinstance(events[-1], TrainingFinished) and events[-1].checkpoint_path is not None
    return [e.loss for e in events if isinstance(e, StepEnded)]


def test_entropy_term_trains_and_reports_the_labelled_loss_only(tmp_path):
    """Same seed with and without the term: step 1 (ramp 0) reports the same loss; later losses stay finite."""
    config = dict(epochs=None, max_steps=12, steps_per_epoch=3, lr=1e-2)
    plain = _steps(Trainer(TINY_MODEL, tiny_config(**config), blob_items(2, sparse=True), [], CLASSES,
                           tmp_path / "a.pt"))
    with_term = _steps(Trainer(TINY_MODEL, tiny_config(**config, unlabelled_weight=1.0),
                               blob_items(2, sparse=True), [], CLASSES, tmp_path / "b.pt"))
    assert with_term[0] == pytest.approx(plain[0], abs=1e-6)
    assert np.all(np.isfinite(with_term)) and with_term != plain  # the term changed the updates after step 1


def test_entropy_term_ramps_over_two_epochs(tmp_path):
    trainer = Trainer(TINY_MODEL, tiny_config(unlabelled_weight=0.5, steps_per_epoch=4), blob_items(1), [],
                      CLASSES, tmp_path / "m.pt")
    logits = torch.zeros(1, 2, 4, 4)  # every pixel 50/50: entropy ln 2
    target = torch.full((1, 4, 4), -1)
    for step, ramp in ((0, 0.0), (4, 0.5), (8, 1.0), (20, 1.0)):
        trainer._steps_done = step
        assert float(trainer._unlabelled_term(logits, target)) == pytest.approx(0.5 * ramp * np.log(2))


def test_contact_rim_leaves_out_touching_scribbles_but_not_dense_labels(tmp_path):
    image = np.zeros((1, 16, 16), np.float32)
    scribbles = np.full((16, 16), -1, np.int64)
    scribbles[:, 2:6], scribbles[:, 6:9] = 0, 1
    dense = np.zeros((16, 16), np.int64)
    dense[:, 8:] = 1
    items = [TrainItem(image, scribbles, "scribbled"), TrainItem(image, dense, "dense")]
    trainer = Trainer(TINY_MODEL, tiny_config(contact_rim=1), items, [], CLASSES, tmp_path / "m.pt")
    scribbled, kept = trainer._scribble_items()
    assert (scribbled.target[:, [5, 6]] == -1).all() and (scribbled.target[:, [2, 3, 4, 7, 8]] >= 0).all()
    assert kept is items[1]


@pytest.mark.parametrize("name", ["unlabelled_weight", "contact_rim"])
def test_negative_settings_are_refused(name):
    with pytest.raises(TrainingError, match=name):
        TrainConfig(**{name: -1})
