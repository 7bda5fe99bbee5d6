"""Trainer.iter_fit: events, limits, stop, checkpoints, NaN handling, fine-tuning."""

import threading
from itertools import islice

import numpy as np
import pytest
import torch

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.training import run_results
from unet_studio.training import trainer as trainer_module
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.events import EpochEnded, Log, PreviewReady, StepEnded, TrainingFinished
from unet_studio.training.trainer import Trainer


def _run(trainer, stop=None):
    events = list(trainer.iter_fit(stop or threading.Event()))
    assert isinstance(events[-1], TrainingFinished)
    assert not any(isinstance(e, TrainingFinished) for e in events[:-1])
    return events


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_loss_falls_on_a_tiny_set(tmp_path):
    items = blob_items(2, size=48)
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=None, max_steps=30, steps_per_epoch=10, lr=1e-2),
                      items, [], CLASSES, tmp_path / "m.pt")
    events = _run(trainer)
    losses = [e.loss for e in _of(events, StepEnded)]
    assert len(losses) == 30
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert events[-1].reason == "reached 30 steps" and events[-1].interrupted is False


def test_epochs_validation_metrics_and_preview(tmp_path):
    items = blob_items(3, size=48)
    # 15 steps an epoch: enough for the tiny model to tell discs from background, so a threshold is chosen
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=2, steps_per_epoch=15), items[:2], items[2:], CLASSES,
                      tmp_path / "m.pt", preview_image=items[2].image)
    events = _run(trainer)
    epochs = _of(events, EpochEnded)
    assert [e.epoch for e in epochs] == [1, 2] and epochs[0].best
    assert {"dice/background", "dice/cell", "iou/cell", "mean_dice"} <= set(epochs[0].val_metrics)
    assert np.isfinite(epochs[-1].val_loss)
    previews = _of(events, PreviewReady)
    assert [p.epoch for p in previews] == [1, 2]
    assert previews[0].probabilities.shape == (2, 48, 48) and previews[0].probabilities.dtype == np.float32
    finished = events[-1]
    assert finished.reason == "finished 2 epoch(s)" and len(_of(events, StepEnded)) == 30
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.history["epochs"] == [1, 2] and checkpoint.interrupted is False
    assert checkpoint.threshold is not None and 0.1 <= checkpoint.threshold <= 0.9
    assert "mean_dice" in checkpoint.metrics and checkpoint.classes == CLASSES
    assert checkpoint.metrics["mean_dice"] == epochs[-1 if epochs[-1].best else 0].val_metrics["mean_dice"]
    assert all(e.collapsed_to is None for e in epochs)


def test_stop_after_first_step_saves_an_interrupted_checkpoint(tmp_path):
    trainer = Trainer(TINY_MODEL, tiny_config(), blob_items(1), [], CLASSES, tmp_path / "m.pt")
    stop = threading.Event()
    events = []
    for event in trainer.iter_fit(stop):
        events.append(event)
        if isinstance(event, StepEnded):
            stop.set()
    assert len(_of(events, StepEnded)) == 1
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and finished.interrupted and finished.reason == "stopped by the user"
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.interrupted is True
    checkpoint.build_model()


def test_max_seconds_ends_the_run(tmp_path):
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=None, max_seconds=0.5, steps_per_epoch=1000),
                      blob_items(1), [], CLASSES, tmp_path / "m.pt")
    events = _run(trainer)
    assert events[-1].reason.startswith("reached the time limit") and not events[-1].interrupted
    assert len(_of(events, EpochEnded)) == 1
    assert events[-1].history["seconds"][-1] < 5


def test_early_stopping_after_patience_epochs(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_module, "epoch_score", lambda *args: 1.0)
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=None, steps_per_epoch=1, early_stopping_patience=2),
                      blob_items(1), [], CLASSES, tmp_path / "m.pt")
    events = _run(trainer)
    # Two epochs without progress, then three of learning-rate anneal (training/stopping.py).
    assert [e.best for e in _of(events, EpochEnded)] == [True] + [False] * 5
    assert events[-1].reason.startswith("converged: the loss stopped improving for 2 epoch(s)")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = trainer_module.combined_loss

    def loss_that_breaks(*args, **kwargs):
        calls["n"] += 1
        value = real_loss(*args, **kwargs)
        return value * float("nan") if calls["n"] == 8 else value

    monkeypatch.setattr(trainer_module, "combined_loss", loss_that_breaks)
    trainer = Trainer(TINY_MODEL, tiny_config(epochs=5, steps_per_epoch=5), blob_items(1), [], CLASSES,
                      tmp_path / "m.pt")
    events = _run(trainer)
    finished = events[-1]
    assert finished.reason == "loss became nan at step 8" and finished.interrupted
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.history["epochs"] == [1] and checkpoint.interrupted
    assert all(torch.isfinite(t).all() for t in checkpoint.state_dict.values())


def test_out_of_memory_halves_the_batch(tmp_path, monkeypatch):
    real_step = Trainer._train_step
    raised = {"n": 0}

    def step_that_runs_out_once(self, batch):
        if raised["n"] == 0:
            raised["n"] = 1
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "_train_step", step_that_runs_out_once)
    trainer = Trainer(TINY_MODEL, tiny_config(batch_size=4, epochs=1, steps_per_epoch=2), blob_items(1), [],
                      CLASSES, tmp_path / "m.pt")
    events = _run(trainer)
    assert any("batch size halved to 2" in e.message for e in _of(events, Log))
    assert events[-1].history["batch_size"] == 2 and len(_of(events, StepEnded)) == 2


def test_fine_tune_keeps_weights_or_reinitialises_the_head(tmp_path):
    first = Trainer(TINY_MODEL, tiny_config(epochs=1), blob_items(1), [], CLASSES, tmp_path / "a.pt")
    base = load_checkpoint(_run(first)[-1].checkpoint_path)
    again = Trainer(TINY_MODEL, tiny_config(epochs=1, max_steps=1), blob_items(1), [], CLASSES,
                    tmp_path / "b.pt", init_checkpoint=base)
    events = list(islice(again.iter_fit(threading.Event()), 2))
    assert any(isinstance(e, Log) and e.message == "fine-tuning from a.pt" for e in events)
    encoder = next(k for k in base.state_dict if k.endswith("weight"))
    assert torch.equal(again.model.state_dict()[encoder].cpu(), base.state_dict[encoder])

    three = [*CLASSES, {"value": 3, "name": "debris", "color": "#00ff00"}]
    wider = TINY_MODEL.__class__(**{**TINY_MODEL.to_dict(), "num_classes": 3})
    other = Trainer(wider, tiny_config(epochs=1, max_steps=2), blob_items(1), [], three, tmp_path / "c.pt",
                    init_checkpoint=base)
    events = _run(other)
    assert any(isinstance(e, Log) and "head re-initialised" in e.message for e in events)
    assert load_checkpoint(events[-1].checkpoint_path).model_config.num_classes == 3


def test_bad_inputs_raise_training_errors(tmp_path):
    from unet_studio.core.errors import TrainingError

    with pytest.raises(TrainingError, match="no training images"):
        Trainer(TINY_MODEL, tiny_config(), [], [], CLASSES, tmp_path / "m.pt")
    rgb = blob_items(1)[0]
    rgb = type(rgb)(np.repeat(rgb.image, 3, axis=0), rgb.target, "rgb.png")
    with pytest.raises(TrainingError, match="rgb.png: image has 3 channel"):
        Trainer(TINY_MODEL, tiny_config(), [rgb], [], CLASSES, tmp_path / "m.pt")


@pytest.mark.parametrize("changes", [
    {"padding": "valid"},
    {"arch": "unetpp", "deep_supervision": True},
    {"arch": "attention-unet", "norm": "group"},
])
def test_every_architecture_trains_and_validates(tmp_path, changes):
    config = TINY_MODEL.__class__(**{**TINY_MODEL.to_dict(), **changes})
    items = blob_items(2, size=40)
    events = _run(Trainer(config, tiny_config(epochs=1, steps_per_epoch=2), items[:1], items[1:], CLASSES,
                          tmp_path / "m.pt", preview_image=items[1].image))
    assert np.isfinite(_of(events, EpochEnded)[0].val_loss)
    assert _of(events, PreviewReady)[0].probabilities.shape == (2, 40, 40)
    assert load_checkpoint(events[-1].checkpoint_path).model_config == config


def test_a_collapsed_epoch_is_flagged_in_the_event_and_in_the_cli(tmp_path, monkeypatch, capsys):
    from unet_studio.cli.train import follow_training
    from unet_studio.training.validation import Validation

    collapsed = Validation(0.5, {"dice/cell": 0.3, "mean_dice": 0.3}, 0.1, collapsed_to=1)
    monkeypatch.setattr(run_results, "validate", lambda *args, **kwargs: collapsed)
    config = tiny_config(epochs=1, steps_per_epoch=2)
    items = blob_items(2, size=32)
    events = _run(Trainer(TINY_MODEL, config, items[:1], items[1:], CLASSES, tmp_path / "m.pt"))
    assert _of(events, EpochEnded)[0].collapsed_to == 1
    warning = ("epoch 1's model predicts every pixel of the validation images as cell (no background): "
               "label more of each class or train longer")
    assert warning in [e.message for e in _of(events, Log)]
    follow_training(iter(events), config, threading.Event())
    assert warning in capsys.readouterr().err


def test_out_of_memory_on_one_rank_of_a_data_parallel_run_ends_it_instead_of_halving(tmp_path, monkeypatch):
    """One rank alone cannot shrink its batch: its peers would wait in the next collective step forever."""
    from unet_studio.training.distributed import DistributedRun

    def out_of_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(Trainer, "_train_step", out_of_memory)
    trainer = Trainer(TINY_MODEL, tiny_config(batch_size=4, epochs=1, steps_per_epoch=2), blob_items(1), [],
                      CLASSES, tmp_path / "m.pt")
    list(trainer._build())  # model, optimiser and batches, as iter_fit makes them
    trainer.dist = DistributedRun(rank=1, world_size=2)  # as under torchrun, without a process group
    loss, reason = trainer._safe_step(trainer.source.next_batch())
    assert loss is None and trainer.source.batch_size == 4
    assert reason.startswith("out of GPU memory on rank 1 at batch size 4") and "--batch-size" in reason
