"""LiveTrainer: the Trainer's steps with no end of their own, on a training set that follows the files.

Between steps it serves LiveControl's requests (keep the model, a new snapshot, check labels now) and,
at most every RELOAD_INTERVAL_S, polls the annotation files (LiveLabels); a changed set is swapped in with
Trainer.set_items, so the model, the optimiser and its state carry on. Schedule: the usual warm-up, then
the base rate again at every change of the labels, decaying (cosine) to the usual floor over SETTLE_S after
the last change: new strokes move the weights at full rate, and a minute after the last one the model has
settled as an ordinary run's does at the end of its budget. Time paused counts towards settling.
What is served (previews, Keep, validation, the checkpoint) is the running average of the weights since the
labels last changed (weight_average.py), restarted with the rate. Measured, 60 s each, seeds 0-3, held-out
Dice (benchmarks/live_training.py): live 0.742 vs ordinary 0.741 on average, as without the average
(0.742); with the scribbles arriving over the first 30 s, 0.736 against 0.712 without it.
"Best", for the checkpoint at out_path: with validation images, the best validation score since the
validation set last changed (scores on other images or labels are not comparable, so a change resets it);
without, the latest (averaged) weights at each epoch end and at stop (they have seen the most labels).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from torch import nn

from unet_studio.core.errors import StudioError, TrainingError
from unet_studio.models.checkpoint import cpu_state_dict, save_checkpoint
from unet_studio.training.api import SKIPPED
from unet_studio.training.events import LabelsReloaded, Log, ModelKept, TrainingEvent
from unet_studio.training.live_control import LiveControl
from unet_studio.training.live_labels import LiveLabels
from unet_studio.training.schedule import WarmupCosine
from unet_studio.training.stopping import PlateauRule
from unet_studio.training.trainer import ENDED, Trainer
from unet_studio.training.weight_average import RunningAverage

RELOAD_INTERVAL_S = 1.0  # how often the annotation files are polled between steps
SETTLE_S = 60.0  # after the last change of the labels the rate decays (cosine) to its floor over a minute
IDLE_WAIT_S = 0.2  # sleep while paused or waiting for labels (stop is seen within this)


class LiveTrainer(Trainer):
    """Trainer whose run ends only at `stop`; `labels` and `control` as in the module docstring."""

    def __init__(self, *args, labels: LiveLabels, control: LiveControl, **kwargs):
        super().__init__(*args, **kwargs)
        self.labels, self.control = labels, control
        self.label_version = 0
        self.waiting: str | None = None  # why no step can run now (nothing to learn from), or None
        self.average: RunningAverage | None = None  # made when the loop starts (the model exists then)

    def _lr(self, step: int) -> float:
        """Warm-up, then base rate again at each change of the labels, decaying over SETTLE_S after it."""
        if step < self.schedule.warmup_steps:
            return self.schedule.lr(step)
        return self.settle.lr(0, time.perf_counter() - self.changed_at)

    def _loop(self, stop: threading.Event) -> Iterator[TrainingEvent]:
        cfg = self.train_config
        self.history = self._new_history()
        self.best, self.start = None, time.perf_counter()
        self.plateau, self.anneal_from = PlateauRule(cfg.early_stopping_patience), None
        step, epoch, losses, patches, epoch_start = 0, 1, [], 0, time.perf_counter()
        next_poll, self.changed_at = self.start + RELOAD_INTERVAL_S, self.start
        self.settle = WarmupCosine(cfg.lr, 0, None, SETTLE_S)
        self.average = RunningAverage(self.model)
        while not stop.is_set():
            yield from self._keep_models(step)
            if self.control.take_check_request() or time.perf_counter() >= next_poll:
                yield from self._reload(step)
                next_poll = time.perf_counter() + RELOAD_INTERVAL_S
            if self.control.paused or self.waiting is not None:
                self.control.wait(IDLE_WAIT_S)
                continue
            result = yield from self._step(step, epoch)
            if result is ENDED:
                return
            if result is None:
                continue
            step, now = step + 1, time.perf_counter()
            losses.append(result[0])
            patches += result[1]
            if len(losses) >= cfg.steps_per_epoch:
                yield from self._end_epoch(epoch, step, losses, patches / max(now - epoch_start, 1e-9))
                epoch, losses, patches, epoch_start = epoch + 1, [], 0, time.perf_counter()
        if not self.val_items:
            self.best = None  # the latest weights are saved
        yield self._finish(f"live training stopped after {step} step(s)", interrupted=False)

    def _train_step(self, batch) -> float:
        loss = super()._train_step(batch)
        self.average.update()
        return loss

    def served_model(self) -> nn.Module:
        """The running average of the weights since the labels last changed (the model before the loop)."""
        return self.model if self.average is None else self.average.module

    def _end_epoch(self, epoch: int, step: int, losses: list[float], patches_per_s: float):
        if not self.val_items:
            self.best = None  # no validation: every epoch's weights become the checkpoint
        return (yield from super()._end_epoch(epoch, step, losses, patches_per_s))

    def _keep_models(self, step: int) -> Iterator[TrainingEvent]:
        """Save the current weights where asked (the format of every checkpoint; no threshold: argmax)."""
        for path in self.control.take_keep_requests():
            try:
                save_checkpoint(path, self.model, self.model_config, self.classes, self.normalization,
                                copy.deepcopy(self.history), self.train_config, interrupted=False,
                                state_dict=cpu_state_dict(self.served_model()))
            except (OSError, StudioError) as error:
                yield Log(f"could not keep the model: {path}: {error}")
                continue
            yield ModelKept(path, step)

    def _reload(self, step: int) -> Iterator[TrainingEvent]:
        """Poll the files; on a change swap the training set in (or wait when nothing is left to learn)."""
        snapshot = self.control.take_snapshot()
        if snapshot is not None:
            self.labels.set_snapshot(snapshot)
        change = self.labels.refresh()
        if change is None:
            return
        for problem in change.problems:
            yield Log(f"{SKIPPED}{problem}")
        if not change.changed:
            return
        self.label_version += 1
        self.history["label_version"] = self.label_version
        notes = []
        try:
            self.set_items(change.train, change.val)
        except TrainingError as error:
            if self.waiting is None:
                notes.append(f"live training waits for labels: {error.reason}")
            self.waiting = str(error)
        else:
            if self.waiting is not None:
                notes.append("labels found: live training goes on")
            self.changed_at = time.perf_counter()  # new strokes: back to the base rate, settling again
            self.average.restart()  # ... and the average starts from the weights now
            self.waiting = None
            self.image_sources = list(change.sources)
            self.history["images"] = self.image_sources
            self.history["validation_images"] = [Path(item.name).name for item in change.val]
            if change.val_changed:
                self.best = None  # scores on the old validation set do not compare with the new one
        yield LabelsReloaded(self.label_version, step, len(change.train), len(change.val), change.changed)
        for note in notes:
            yield Log(note)
