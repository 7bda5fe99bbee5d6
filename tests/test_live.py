"""Live training (training/live.py): labels follow the files, images join and drop, pause, keep, stop."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from tests.live_project import blob_annotation, make_project
from tests.training.helpers import TINY_MODEL, big_image_project, tiny_config
from unet_studio.core.errors import TrainingError
from unet_studio.data.mixed_batches import is_lazy
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.events import EpochEnded, LabelsReloaded, Log, ModelKept, StepEnded, TrainingFinished
from unet_studio.training.live import LiveControl, iter_train_live
from unet_studio.training.project_source import snapshot_project


class LiveRun:
    """iter_train_live on a project, driven step by step from the test thread."""

    def __init__(self, project, out_path, **config):
        self.project, self.stop, self.control = project, threading.Event(), LiveControl()
        self.trainers = []
        self.events = iter_train_live(snapshot_project(project), out_path, TINY_MODEL, tiny_config(**config),
                                      stop=self.stop, control=self.control, on_trainer=self.trainers.append)
        self.seen = []

    @property
    def trainer(self):
        return self.trainers[0]

    def until(self, kind, limit: int = 200):
        """Events up to and including the next one of `kind`."""
        for event in self.events:
            self.seen.append(event)
            if isinstance(event, kind):
                return event
            assert len(self.seen) < limit, f"no {kind.__name__} in {limit} events"
        raise AssertionError(f"the run ended without {kind.__name__}")

    def finish(self) -> TrainingFinished:
        self.stop.set()
        return self.until(TrainingFinished)


def _targets_by_name(items):
    return {item.name.rsplit("/", 1)[-1]: item.target for item in items}


def _adam_steps(trainer) -> int:
    return int(next(iter(trainer.optimizer.state.values()))["step"])


def test_strokes_saved_after_the_start_train_the_next_steps_with_the_same_optimiser(tmp_path):
    project = make_project(tmp_path, count=1, labelled=0)
    project.save_annotation("img0", blob_annotation(0, rows=slice(0, 24)))  # the top half only
    run = LiveRun(project, tmp_path / "live.pt")
    run.until(StepEnded)
    run.until(StepEnded)
    optimizer, steps_before = run.trainer.optimizer, _adam_steps(run.trainer)
    project.save_annotation("img0", blob_annotation(0))  # strokes over the bottom half
    run.control.labels_changed()
    reloaded = run.until(LabelsReloaded)
    assert (reloaded.version, reloaded.step, reloaded.changed) == (1, 2, ("img0",))
    assert (reloaded.train_images, reloaded.val_images) == (1, 0)
    expected = blob_annotation(0).astype(np.int64) - 1
    np.testing.assert_array_equal(_targets_by_name(run.trainer.train_items)["img0.png"], expected)
    np.testing.assert_array_equal(run.trainer.source.sampler.items[0].target, expected)  # the batches' source
    assert run.trainer.average.updates == 1  # the weights' average starts again with the labels
    step = run.until(StepEnded)
    assert step.step == 3 and run.trainer.average.updates == 2
    assert run.trainer.optimizer is optimizer and _adam_steps(run.trainer) == steps_before + 1
    project.save_annotation("img0", blob_annotation(0, rows=slice(10, 40)))
    run.control.labels_changed()
    assert run.until(LabelsReloaded).version == 2
    assert run.finish().checkpoint_path is not None


def test_a_newly_labelled_image_joins_and_an_erased_one_drops(tmp_path):
    project = make_project(tmp_path, count=2, labelled=1)
    run = LiveRun(project, tmp_path / "live.pt")
    run.until(StepEnded)
    project.save_annotation("img1", blob_annotation(1))  # img1 had no annotation file when the run started
    run.control.labels_changed()
    joined = run.until(LabelsReloaded)
    assert (joined.version, joined.train_images, joined.changed) == (1, 2, ("img1",))
    assert set(_targets_by_name(run.trainer.train_items)) == {"img0.png", "img1.png"}
    run.until(StepEnded)
    project.save_annotation("img1", np.zeros((48, 48), np.uint8))  # erased
    run.control.labels_changed()
    dropped = run.until(LabelsReloaded)
    assert (dropped.version, dropped.train_images, dropped.changed) == (2, 1, ("img1",))
    assert set(_targets_by_name(run.trainer.train_items)) == {"img0.png"}
    run.finish()


def test_with_every_label_erased_it_waits_then_goes_on(tmp_path):
    project = make_project(tmp_path, count=1, labelled=1)
    run = LiveRun(project, tmp_path / "live.pt")
    first = run.until(StepEnded)
    project.save_annotation("img0", np.zeros((48, 48), np.uint8))
    run.control.labels_changed()
    assert run.until(LabelsReloaded).train_images == 0
    waiting = run.until(Log)
    assert "waits for labels" in waiting.message
    project.save_annotation("img0", blob_annotation(0))
    run.control.labels_changed()
    assert run.until(LabelsReloaded).train_images == 1
    assert run.until(StepEnded).step == first.step + 1
    assert any(isinstance(e, Log) and "goes on" in e.message for e in run.seen)
    run.finish()


def test_a_new_snapshot_moves_an_image_to_validation_and_resets_the_best(tmp_path):
    project = make_project(tmp_path, count=2, labelled=2)
    run = LiveRun(project, tmp_path / "live.pt", steps_per_epoch=3)
    assert run.until(EpochEnded).best and run.trainer.val_items == []
    project.set_split("img1", "val")
    run.control.update_snapshot(snapshot_project(project))
    moved = run.until(LabelsReloaded)
    assert (moved.train_images, moved.val_images, moved.changed) == (1, 1, ("img1",))
    assert run.trainer.best is None  # the old score was on no validation set
    epoch = run.until(EpochEnded)
    assert epoch.best and "mean_dice" in epoch.val_metrics
    finished = run.finish()
    assert load_checkpoint(finished.checkpoint_path).history["validation_images"] == ["img1.png"]


def test_keep_model_writes_the_served_weights_as_a_loadable_checkpoint(tmp_path):
    project = make_project(tmp_path, count=1)
    run = LiveRun(project, tmp_path / "live.pt")
    run.until(StepEnded)
    run.until(StepEnded)
    run.control.keep_model(tmp_path / "kept.pt")
    kept = run.until(ModelKept)
    assert (kept.path, kept.step) == (tmp_path / "kept.pt", 2)
    checkpoint = load_checkpoint(kept.path)
    model = checkpoint.build_model()
    loaded = model.state_dict()
    for name, tensor in run.trainer.served_model().state_dict().items():  # the running average (weight_average.py)
        torch.testing.assert_close(loaded[name], tensor.to(loaded[name].dtype))
    assert not checkpoint.interrupted and [c["name"] for c in checkpoint.classes] == [c.name for c in project.classes]
    run.finish()


def test_stop_leaves_a_loadable_checkpoint_and_no_limit_ends_the_run(tmp_path):
    project = make_project(tmp_path, count=1)
    run = LiveRun(project, tmp_path / "live.pt", steps_per_epoch=2, max_steps=3, epochs=1)  # limits are ignored
    while run.until(StepEnded).step < 8:
        pass
    finished = run.finish()
    assert not finished.interrupted and "stopped after 8 step(s)" in finished.reason
    checkpoint = load_checkpoint(finished.checkpoint_path)
    assert checkpoint.history["epochs"] == [1, 2, 3, 4]
    model = checkpoint.build_model().eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 48, 48)).shape == (1, 2, 48, 48)


def test_pause_stops_steps_and_still_keeps_models_and_stops(tmp_path):
    project = make_project(tmp_path, count=1)
    stop, control, events = threading.Event(), LiveControl(), []
    run = iter_train_live(snapshot_project(project), tmp_path / "live.pt", TINY_MODEL, tiny_config(),
                          stop=stop, control=control)
    thread = threading.Thread(target=lambda: events.extend(run), daemon=True)

    def steps():
        return sum(isinstance(e, StepEnded) for e in events)

    thread.start()
    _wait_for(lambda: steps() >= 2)
    control.pause()
    assert control.paused
    time.sleep(0.5)  # a step under way when pause() came may still end
    paused_at = steps()
    control.keep_model(tmp_path / "paused.pt")
    _wait_for(lambda: any(isinstance(e, ModelKept) for e in events))
    time.sleep(0.5)
    assert steps() == paused_at
    assert next(e for e in events if isinstance(e, ModelKept)).step == paused_at
    control.resume()
    _wait_for(lambda: steps() > paused_at)
    control.pause()
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and isinstance(events[-1], TrainingFinished)
    assert load_checkpoint(events[-1].checkpoint_path) is not None


def _wait_for(condition, seconds: float = 30.0) -> None:
    """Poll `condition` every 20 ms; fail when it is still false after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_no_labelled_training_image_is_an_error(tmp_path):
    project = make_project(tmp_path, count=1, labelled=0)
    with pytest.raises(TrainingError, match="no labelled training image"):
        next(iter_train_live(snapshot_project(project), tmp_path / "live.pt", TINY_MODEL, tiny_config()))


def test_the_rate_settles_after_the_last_change_and_new_strokes_bring_it_back(tmp_path, monkeypatch):
    from unet_studio.training import live_trainer

    project = make_project(tmp_path, count=1)
    run = LiveRun(project, tmp_path / "live.pt")
    run.until(StepEnded)
    trainer, base = run.trainer, run.trainer.train_config.lr
    after_warmup = trainer.schedule.warmup_steps
    assert trainer._lr(after_warmup) == pytest.approx(base, rel=0.05)  # the run just started: full rate
    trainer.changed_at -= live_trainer.SETTLE_S / 2
    assert trainer._lr(after_warmup) == pytest.approx(0.5 * base, rel=0.1)  # half-way down the cosine
    trainer.changed_at -= live_trainer.SETTLE_S
    settled = trainer._lr(after_warmup)
    assert settled < 0.05 * base  # a minute with no new strokes: the floor
    project.save_annotation("img0", blob_annotation(0, rows=slice(0, 24)))
    run.control.labels_changed()
    run.until(LabelsReloaded)
    assert trainer._lr(after_warmup) == pytest.approx(base, rel=0.05)  # new strokes: full rate again
    run.finish()


def test_a_big_image_joins_live_training_from_its_chunk_index(tmp_path):
    """A big image painted in the tiled viewer trains live: its chunked labels are watched through the
    store's index, and a stroke saved into a new chunk is in the next batches' source."""
    project, _ = big_image_project(tmp_path, small=False)
    run = LiveRun(project, tmp_path / "live.pt")
    run.until(StepEnded)
    (big,) = run.trainer.train_items
    assert is_lazy(big) and big.labels.chunks_stored() == [(0, 0), (3, 2), (5, 4), (5, 5)]
    project.chunked_labels("big").write(100, 260, np.full((10, 10), 2, np.uint8))
    run.control.labels_changed()
    reloaded = run.until(LabelsReloaded)
    assert reloaded.changed == ("big",) and reloaded.train_images == 1
    (big,) = run.trainer.train_items
    assert (1, 4) in big.labels.chunks_stored() and run.trainer.source.sampler.items[0] is big
    assert run.finish().checkpoint_path is not None
