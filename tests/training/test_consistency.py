"""Flip-consistency pseudo-labels: which pixels get one, the loss on hand-computed cases, the ramp, the Trainer."""

import contextlib
import math

import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.training.config import TrainConfig
from unet_studio.training.consistency import consistency_loss, flip_pseudo_labels, ramp_factor, unlabelled_term
from unet_studio.training.events import TrainingFinished
from unet_studio.training.schedule import WarmupCosine
from unet_studio.training.trainer import Trainer


def _no_autocast():
    return contextlib.nullcontext()


def _column_net(images: torch.Tensor) -> torch.Tensor:
    """A 'network' whose class-1 logit is 4 x the pixel value: its output mirrors with its input."""
    return torch.cat([torch.zeros_like(images), 4 * images], dim=1)


def _images_and_targets():
    images = torch.tensor([[[[1.0, 0.0, -1.0, 0.2]]]])  # (1, 1, 1, 4): p1 = sigmoid(4 x): .98, .5, .02, .69
    targets = torch.tensor([[[-1, -1, -1, 0]]])  # the last pixel is labelled
    return images, targets


def test_pseudo_labels_only_where_unlabelled_and_confident():
    images, targets = _images_and_targets()
    pseudo = flip_pseudo_labels(_column_net, images, targets, threshold=0.9, autocast=_no_autocast)
    assert pseudo.tolist() == [[[1, -1, 0, -1]]]


def test_pseudo_labels_come_from_the_mirrored_view_mirrored_back():
    images, targets = _images_and_targets()

    def right_half_is_sure(batch):  # confident class 1 on the right half of whatever it is shown
        logits = torch.zeros(1, 2, 1, 4)
        logits[:, 1, :, 2:] = 10.0
        return logits

    pseudo = flip_pseudo_labels(right_half_is_sure, images, targets, threshold=0.9, autocast=_no_autocast)
    assert pseudo.tolist() == [[[1, 1, -1, -1]]]  # shown mirrored, its right half is the image's left half


def test_consistency_loss_worked_case():
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 1, 0, 0] = math.log(3.0)  # p1 = 3/4 at pixel 0
    pseudo = torch.tensor([[[1, 0, -1, -1]]])
    loss = consistency_loss(logits, pseudo, unlabelled=3)
    assert loss.item() == pytest.approx((math.log(4 / 3) + math.log(2)) / 3, rel=1e-6)


def test_consistency_loss_is_zero_with_a_gradient_when_nothing_is_confident():
    logits = torch.randn(1, 2, 3, 3, requires_grad=True)
    loss = consistency_loss(logits, torch.full((1, 3, 3), -1), unlabelled=9)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("used, expected", [(0.0, 0.0), (0.1, 0.0), (0.25, 0.5), (0.4, 1.0), (1.0, 1.0)])
def test_ramp_follows_the_budget(used, expected):
    schedule = WarmupCosine(1e-3, 10, total_steps=1000)
    assert ramp_factor(schedule, int(used * 1000), 0.0) == pytest.approx(expected)


def test_ramp_without_a_budget_counts_steps():
    schedule = WarmupCosine(1e-3, 10)
    assert ramp_factor(schedule, 50, 1e6) == 0.0 and ramp_factor(schedule, 5000, 0.0) == 1.0


def test_no_term_for_dense_labels_or_zero_weight():
    images, _ = _images_and_targets()
    logits = _column_net(images)
    dense = torch.zeros(1, 1, 4, dtype=torch.long)
    config = TrainConfig(consistency_weight=1.0)
    assert unlabelled_term(_column_net, images, logits, dense, config, 1.0, _no_autocast) == 0.0
    sparse = torch.tensor([[[-1, -1, -1, 0]]])
    assert unlabelled_term(_column_net, images, logits, sparse, TrainConfig(consistency_weight=0.0), 1.0,
                           _no_autocast) == 0.0
    assert unlabelled_term(_column_net, images, logits, sparse, config, 0.0, _no_autocast) == 0.0
    term = unlabelled_term(_column_net, images, logits, sparse, config, 0.5, _no_autocast)
    expected = 0.5 * consistency_loss(logits, torch.tensor([[[1, -1, 0, -1]]]), unlabelled=3)
    assert term.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("changes", [{"consistency_weight": -1.0}, {"consistency_threshold": 0.0},
                                     {"consistency_threshold": 1.5}])
def test_bad_consistency_settings_are_refused(changes):
    with pytest.raises(TrainingError, match="consistency"):
        TrainConfig(**changes)


def test_trainer_with_consistency_trains_on_sparse_labels(tmp_path):
    config = tiny_config(epochs=2, steps_per_epoch=5, consistency_weight=1.0, consistency_threshold=0.6)
    trainer = Trainer(TINY_MODEL, config, blob_items(2, sparse=True), [], CLASSES, tmp_path / "m.pt")
    events = list(trainer.iter_fit())
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and finished.checkpoint_path.exists()
    assert trainer.unlabelled_ramp == 1.0  # the last step's ramp: the term was on by the end
    assert all(math.isfinite(loss) for loss in finished.history["train_loss"])
