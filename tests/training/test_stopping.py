"""The stopping rule: progress only by a margin, a plateau of `patience` epochs, an anneal, then the end."""

import dataclasses
import threading

import pytest

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.training.events import EpochEnded, StepEnded, TrainingFinished
from unet_studio.training.schedule import FINAL_FACTOR
from unet_studio.training.stopping import DICE_MARGIN, PlateauRule, anneal_lr
from unet_studio.training.trainer import Trainer


def _feed(rule, scores, is_loss=False):
    states = []
    for score in scores:
        rule.update(score, is_loss)
        states.append(("finished" if rule.finished else "annealing" if rule.annealing else "training"))
    return states


def test_dice_gains_below_the_margin_count_as_a_plateau():
    rule = PlateauRule(patience=2, anneal_epochs=2)
    small = DICE_MARGIN / 2
    states = _feed(rule, [0.5, 0.6, 0.6 + small, 0.6 + 2 * small, 0.7, 0.7])
    # 0.6 + small and 0.6 + 2 small are two epochs without progress: the anneal starts, runs 2 epochs, ends.
    assert states == ["training", "training", "training", "annealing", "annealing", "finished"]
    assert rule.best == 0.6 and "validation Dice" in rule.reason()


def test_a_loss_must_fall_by_one_percent_of_its_best():
    rule = PlateauRule(patience=2, anneal_epochs=1)
    # minus the loss, so higher is better: 1.0 -> 0.9 is progress, 0.9 -> 0.895 (0.6 %) is not.
    states = _feed(rule, [-1.0, -0.9, -0.895, -0.85, -0.849, -0.848, -0.5], is_loss=True)
    assert states == ["training"] * 5 + ["annealing", "finished"]
    assert rule.best == -0.85 and "the loss" in rule.reason()


def test_progress_resets_the_count():
    rule = PlateauRule(patience=2, anneal_epochs=1)
    assert _feed(rule, [0.5, 0.5, 0.6, 0.6, 0.7, 0.7]) == ["training"] * 6


def test_anneal_lr_is_a_cosine_between_its_ends():
    assert anneal_lr(1e-3, 1e-5, 0, 10) == pytest.approx(1e-3)
    assert anneal_lr(1e-3, 1e-5, 5, 10) == pytest.approx((1e-3 + 1e-5) / 2)
    assert anneal_lr(1e-3, 1e-5, 10, 10) == pytest.approx(1e-5)
    assert anneal_lr(1e-3, 1e-5, 99, 10) == pytest.approx(1e-5)


def _run(trainer):
    events = list(trainer.iter_fit(threading.Event()))
    assert isinstance(events[-1], TrainingFinished)
    return events


def test_a_plateauing_validation_ends_the_run_before_the_budget(tmp_path):
    # A learning rate this small and no batch norm leave the weights, so the validation Dice, unchanged.
    frozen = dataclasses.replace(TINY_MODEL, norm="none")
    config = tiny_config(epochs=None, max_steps=10_000, max_seconds=600, steps_per_epoch=2, lr=1e-12,
                         early_stopping_patience=2)
    items = blob_items(3, size=48)
    events = _run(Trainer(frozen, config, items[:2], items[2:], CLASSES, tmp_path / "m.pt"))
    finished, epochs = events[-1], [e for e in events if isinstance(e, EpochEnded)]
    assert finished.reason.startswith("converged: validation Dice") and not finished.interrupted
    assert len(epochs) == 1 + 2 + 3, "best, two epochs without progress, then three epochs of anneal"
    assert finished.history["steps"][-1] == 12
    rates = [e.lr for e in events if isinstance(e, StepEnded)]
    assert rates[-1] == pytest.approx(FINAL_FACTOR * 1e-12, rel=0.2), "the anneal ends at the schedule's floor"
    assert finished.checkpoint_path.exists()


def test_without_validation_the_run_stops_when_the_training_loss_plateaus(tmp_path):
    # Frozen weights: the training loss only wanders with the sampled patches, never by 1 % of its best for long.
    frozen = dataclasses.replace(TINY_MODEL, norm="none")
    config = tiny_config(epochs=None, max_steps=10_000, max_seconds=600, steps_per_epoch=4, lr=1e-12,
                         early_stopping_patience=2)
    events = _run(Trainer(frozen, config, blob_items(2, size=48), [], CLASSES, tmp_path / "m.pt"))
    finished = events[-1]
    assert finished.reason.startswith("converged: the loss") and not finished.interrupted
    history = finished.history
    assert history["steps"][-1] < 100 and history["val_dice"] == [None] * len(history["epochs"])
