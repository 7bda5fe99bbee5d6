"""TrainingWorker: runs a frozen TrainingJob in a QThread and re-emits the Trainer's events as Qt signals.

The job holds a ProjectSnapshot taken on the GUI thread; images are read and normalised in the worker
thread, which never reads the live Project. Only frozen events and numpy arrays cross threads.

Live preview: the Trainer predicts the viewed image with the weights in memory, on the training thread.
It does so after each epoch, and this worker asks it between steps too: every `preview_every_s` seconds
(longer when one preview costs more than a fifth of that) and as soon as the viewed image changes, so
previews arrive within the first epoch of a run, not only at its end.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch._dynamo  # noqa: F401  (see below)
from PySide6.QtCore import Signal

from unet_studio.core.normalize import normalize_for_network
from unet_studio.gui.workers import JobWorker
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_snapshot
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import EpochEnded, Log, PreviewReady, StepEnded, TrainingFinished
from unet_studio.training.project_source import ProjectSnapshot
from unet_studio.training.trainer import Trainer

# torch._dynamo (with sympy, ~1 s of module code, far more under load at the worker's lower priority) is
# imported by the optimiser's constructor. Importing it with this module, when the window is built, keeps
# that work off the training thread, where it would hold the import lock and the GIL in long stretches.
PREVIEW_EVERY_S = 5.0
PREVIEW_COST_SHARE = 0.2  # at most this share of the run goes into mid-epoch previews


@dataclass(frozen=True)
class TrainingJob:
    """Everything a run needs, fixed when Train is pressed. `model_config` None = the init checkpoint's."""

    snapshot: ProjectSnapshot
    model_config: ModelConfig | None
    train_config: TrainConfig
    out_path: Path
    init_checkpoint: Path | None = None
    model_name: str | None = None

    def name(self) -> str:
        """The name the model gets in the project."""
        arch = self.model_config.arch if self.model_config else "model"
        return self.model_name or f"{arch} {self.out_path.stem.removeprefix('model-')}"


class TrainingWorker(JobWorker):
    """Iterates the training generator off the GUI thread; `finished` is always the last signal."""

    step_ended = Signal(object)  # StepEnded
    epoch_ended = Signal(object)  # EpochEnded
    preview_ready = Signal(str, object)  # image id, float32 (K, H, W) probabilities
    log_emitted = Signal(str)
    training_finished = Signal(object)  # TrainingFinished
    what = "training"

    def __init__(self, job: TrainingJob, preview_every_s: float | None = None):
        super().__init__()
        self.job = job
        self.preview_every_s = PREVIEW_EVERY_S if preview_every_s is None else preview_every_s
        self._lock = threading.Lock()
        self._wanted: tuple[str, np.ndarray] | None = None  # set by the GUI thread
        self._trainer: Trainer | None = None  # the rest: training thread only
        self._given_id: str | None = None
        self._next_preview = 0.0

    def set_preview_image(self, image_id: str, pixels: np.ndarray) -> None:
        """The raw image (H, W, C) to preview (thread-safe). Not copied: the document replaces its image
        array when the image changes and never edits it in place."""
        with self._lock:
            self._wanted = (image_id, pixels)

    def work(self) -> None:
        job = self.job
        events = iter_train_snapshot(job.snapshot, job.out_path, job.model_config, job.train_config,
                                     init=job.init_checkpoint, stop=self.stop_event, on_trainer=self._on_trainer)
        for event in events:
            if isinstance(event, StepEnded):
                self.step_ended.emit(event)
                self._preview_between_steps(event.epoch)
            elif isinstance(event, EpochEnded):
                self.epoch_ended.emit(event)
            elif isinstance(event, PreviewReady):  # the Trainer's own, after an epoch
                self._next_preview = max(self._next_preview, time.perf_counter() + self.preview_every_s)
                self._emit_preview(event)
            elif isinstance(event, Log):
                self.log_emitted.emit(event.message)
            elif isinstance(event, TrainingFinished):
                self.training_finished.emit(event)

    def _on_trainer(self, trainer: Trainer) -> None:
        self._trainer = trainer
        self._give_preview_image()

    def _give_preview_image(self) -> bool:
        """Hand the Trainer the wanted image, normalised as its training images; True if it changed."""
        with self._lock:
            wanted = self._wanted
        if self._trainer is None or wanted is None or wanted[0] == self._given_id:
            return False
        image_id, pixels = wanted
        if pixels.ndim != 3 or pixels.shape[2] != self._trainer.model_config.in_channels:
            return False  # another kind of image than the model's: no preview
        norm = {**DEFAULT_NORMALIZATION, **(self._trainer.normalization or {})}
        image = normalize_for_network(pixels, norm["low"], norm["high"])
        self._trainer.set_preview_image(image)
        self._given_id = image_id
        return True

    def _preview_between_steps(self, epoch: int) -> None:
        if self.stopping or self._trainer is None:
            return
        changed = self._give_preview_image()
        if self._given_id is None or not (changed or time.perf_counter() >= self._next_preview):
            return
        started = time.perf_counter()
        event = self._trainer.preview(epoch)
        cost = time.perf_counter() - started
        self._next_preview = time.perf_counter() + max(self.preview_every_s, cost / PREVIEW_COST_SHARE)
        if event is not None:
            self._emit_preview(event)

    def _emit_preview(self, event: PreviewReady) -> None:
        if self._given_id is not None:
            self.preview_ready.emit(self._given_id, event.probabilities)
