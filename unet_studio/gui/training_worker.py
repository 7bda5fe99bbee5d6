"""TrainingWorker: runs `iter_train_project` in a QThread and re-emits its events as Qt signals.

Images are read and normalised inside the worker thread (by the training API), never on the GUI thread.
Only frozen events and numpy copies cross threads; the worker never touches widgets or the document.
`stop()` is a direct call from the GUI thread that sets a threading.Event: a queued slot would never run
while `run()` is busy. The trainer checks it between batches, so a stop takes effect within one batch.

Live preview: the training API gives no handle on its Trainer, so after every epoch that saved better
weights (or when the viewed image changed) the worker predicts the preview image with the freshly saved
checkpoint and emits `preview_ready(image_id, probabilities)`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (see below)
from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import StudioError
from unet_studio.inference.predictor import Predictor
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_project
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import EpochEnded, Log, PreviewReady, StepEnded, TrainingFinished

# torch._dynamo (with sympy, ~1 s of module code) is imported lazily by the optimiser's first step. Importing
# it with this module, when the window is built, keeps that import work off the training thread, where it
# would hold the import lock and the GIL in long stretches while the GUI is live.
TRAINING_NICENESS = 5  # the training thread yields to the GUI thread when both want the same core


def lower_thread_priority(niceness: int = TRAINING_NICENESS) -> None:
    """Raise the calling thread's nice value (Linux threads are scheduled on their own; elsewhere a no-op)."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except OSError:
            return


@dataclass(frozen=True)
class TrainingJob:
    """Everything a run needs, fixed when Train is pressed. `model_config` None = the init checkpoint's."""

    model_config: ModelConfig | None
    train_config: TrainConfig
    out_path: Path
    init_checkpoint: Path | None = None
    model_name: str | None = None

    def name(self) -> str:
        """The name the model gets in the project."""
        arch = self.model_config.arch if self.model_config else "model"
        return self.model_name or f"{arch} {self.out_path.stem.removeprefix('model-')}"


def one_line_failure(error: BaseException, what: str = "training") -> str:
    """A StudioError's own line, or what failed with the exception type and its message on one line."""
    if isinstance(error, StudioError):
        return str(error)
    if isinstance(error, torch.OutOfMemoryError):
        return f"{what}: out of memory; use a smaller model, batch, patch or tile size"
    text = " ".join(str(error).split()) or "no message"
    return f"{what} failed: {type(error).__name__}: {text}"


class TrainingWorker(QObject):
    """Iterates the training generator off the GUI thread; `finished` is always the last signal."""

    step_ended = Signal(object)  # StepEnded
    epoch_ended = Signal(object)  # EpochEnded
    preview_ready = Signal(str, object)  # image id, float32 (K, H, W) probabilities
    log_emitted = Signal(str)
    training_finished = Signal(object)  # TrainingFinished
    failed = Signal(str)
    finished = Signal()

    def __init__(self, project, job: TrainingJob):
        super().__init__()
        self.project = project
        self.job = job
        self._stop = threading.Event()
        self._preview_lock = threading.Lock()
        self._preview: tuple[str, np.ndarray] | None = None
        self._previewed_id: str | None = None

    def stop(self) -> None:
        """Ask the run to end after the current batch (thread-safe, called directly)."""
        self._stop.set()

    def set_preview_image(self, image_id: str, pixels: np.ndarray) -> None:
        """The raw image (H, W, C) to preview after each epoch; a private copy is kept (thread-safe)."""
        copied = np.array(pixels, copy=True)
        with self._preview_lock:
            self._preview = (image_id, copied)

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        lower_thread_priority()
        try:
            self._iterate()
        except Exception as error:  # every failure ends the run with one line, never a traceback
            self.failed.emit(one_line_failure(error))
        finally:
            self.finished.emit()

    def _iterate(self) -> None:
        job = self.job
        events = iter_train_project(self.project, job.out_path, job.model_config, job.train_config,
                                    init=job.init_checkpoint, stop=self._stop, model_name=job.model_name,
                                    register=False)
        for event in events:
            if isinstance(event, StepEnded):
                self.step_ended.emit(event)
            elif isinstance(event, EpochEnded):
                self.epoch_ended.emit(event)
                self._send_preview(event.best)
            elif isinstance(event, Log):
                self.log_emitted.emit(event.message)
            elif isinstance(event, TrainingFinished):
                self.training_finished.emit(event)
            elif isinstance(event, PreviewReady):
                with self._preview_lock:
                    image_id = self._preview[0] if self._preview else ""
                self.preview_ready.emit(image_id, event.probabilities)

    def _send_preview(self, improved: bool) -> None:
        """Predict the preview image with the checkpoint saved so far (skipped when nothing changed)."""
        with self._preview_lock:
            preview = self._preview
        if preview is None or not self.job.out_path.is_file() or self._stop.is_set():
            return
        image_id, pixels = preview
        if not improved and image_id == self._previewed_id:
            return
        predictor = Predictor.from_checkpoint(self.job.out_path, device=self.job.train_config.device)
        result = predictor.predict(pixels, stop=self._stop, source=image_id)
        if result is not None and result.probabilities is not None:
            self._previewed_id = image_id
            self.preview_ready.emit(image_id, result.probabilities)
