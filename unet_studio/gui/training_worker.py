"""TrainingWorker: runs a frozen TrainingJob in a QThread and re-emits the Trainer's events as Qt signals.

The job holds a ProjectSnapshot taken on the GUI thread; images are read and normalised in the worker
thread, which never reads the live Project. Only frozen events and numpy arrays cross threads.

Live preview: the Trainer predicts the viewed image with the weights in memory, on the training thread.
It does so after each epoch, and this worker asks it between steps too: every `preview_every_s` seconds
(longer when one preview costs more than a fifth of that) and as soon as the viewed image changes, so
previews arrive within the first epoch of a run, not only at its end. When the GUI says which part of the
image is on screen (`set_preview_region`), that rectangle is predicted and shown first and the rest of the
image follows in up to four pieces, in the same pause between two steps (tying pieces to steps made a
round last several steps: tens of seconds when steps are slow). Each piece reaches the GUI as a frozen
`PreviewFrame` carrying the step of the weights that made it and its uncertainty (live_uncertainty.py).
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
from unet_studio.gui.live_uncertainty import uncertainty_map
from unet_studio.gui.workers import JobWorker
from unet_studio.models.config import ModelConfig
from unet_studio.training.api import iter_train_snapshot
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import EpochEnded, Log, PreviewReady, StepEnded, TrainingFinished
from unet_studio.training.preview_regions import Region, clip_region, rest_regions
from unet_studio.training.project_source import ProjectSnapshot
from unet_studio.training.trainer import Trainer

# torch._dynamo (with sympy, ~1 s of module code, far more under load at the worker's lower priority) is
# imported by the optimiser's constructor. Importing it with this module, when the window is built, keeps
# that work off the training thread, where it would hold the import lock and the GIL in long stretches.
PREVIEW_EVERY_S = 5.0
PREVIEW_COST_SHARE = 0.2  # at most this share of the run goes into mid-epoch previews
# A viewport showing at least this share of the image is not predicted first: the pieces around it (each with
# its context) would cost more than the whole image at once, and the whole image arrives almost as soon.
VIEWPORT_FIRST_MAX_SHARE = 0.5


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


@dataclass(frozen=True, eq=False)
class PreviewFrame:
    """A preview on its way to the GUI: probabilities (K, h, w) and uncertainty (uint8 (h, w)) of `region`
    (None = the whole image) of image `image_id`, made by the weights of training step `step`."""

    image_id: str
    probabilities: np.ndarray
    uncertainty: np.ndarray
    step: int = 0
    region: Region | None = None

    @classmethod
    def of(cls, image_id: str, event: PreviewReady) -> PreviewFrame:
        return cls(image_id, event.probabilities, uncertainty_map(event.probabilities), event.step, event.region)


class TrainingWorker(JobWorker):
    """Iterates the training generator off the GUI thread; `finished` is always the last signal."""

    step_ended = Signal(object)  # StepEnded
    epoch_ended = Signal(object)  # EpochEnded
    preview_ready = Signal(object)  # PreviewFrame
    log_emitted = Signal(str)
    training_finished = Signal(object)  # TrainingFinished
    what = "training"

    def __init__(self, job: TrainingJob, preview_every_s: float | None = None):
        super().__init__()
        self.job = job
        self.preview_every_s = PREVIEW_EVERY_S if preview_every_s is None else preview_every_s
        self.preview_cost_share = PREVIEW_COST_SHARE
        self._lock = threading.Lock()
        self._wanted: tuple[str, np.ndarray] | None = None  # set by the GUI thread
        self._region: tuple[str, Region] | None = None  # the part on screen, set by the GUI thread
        self._trainer: Trainer | None = None  # the rest: training thread only
        self._given_id: str | None = None
        self._shape: tuple[int, int] = (0, 0)  # of the image given to the Trainer
        self._next_preview = 0.0

    def set_preview_image(self, image_id: str, pixels: np.ndarray) -> None:
        """The raw image (H, W, C) to preview (thread-safe). Not copied: the document replaces its image
        array when the image changes and never edits it in place."""
        with self._lock:
            self._wanted = (image_id, pixels)

    def set_preview_region(self, image_id: str, region: Region | None) -> None:
        """The rectangle (y0, x0, y1, x1) of `image_id` on screen, predicted first (thread-safe)."""
        with self._lock:
            self._region = None if region is None else (image_id, tuple(int(v) for v in region))

    def work(self) -> None:
        for event in self._events():
            self._handle(event)

    def _events(self):
        job = self.job
        return iter_train_snapshot(job.snapshot, job.out_path, job.model_config, job.train_config,
                                   init=job.init_checkpoint, stop=self.stop_event, on_trainer=self._on_trainer)

    def _handle(self, event) -> None:
        if isinstance(event, StepEnded):
            self.step_ended.emit(event)
            self._between_steps(event)
        elif isinstance(event, EpochEnded):
            self.epoch_ended.emit(event)
        elif isinstance(event, PreviewReady):  # the Trainer's own, after an epoch: a whole round
            self._next_preview = max(self._next_preview, time.perf_counter() + self.preview_every_s)
            self._emit_preview(event)
        elif isinstance(event, Log):
            self.log_emitted.emit(event.message)
        elif isinstance(event, TrainingFinished):
            self.training_finished.emit(event)

    def _between_steps(self, event: StepEnded) -> None:
        self._preview_between_steps(event.epoch, event.step)

    def _on_trainer(self, trainer: Trainer) -> None:
        self._trainer, self._given_id = trainer, None  # a new Trainer gets the image again
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
        self._given_id, self._shape = image_id, pixels.shape[:2]
        return True

    def _first_region(self) -> Region | None:
        """The part of the previewed image on screen, when it is less than the whole image."""
        with self._lock:
            wanted = self._region
        if wanted is None or wanted[0] != self._given_id:
            return None
        region = clip_region(wanted[1], self._shape)
        if region is None:
            return None
        area = (region[2] - region[0]) * (region[3] - region[1])
        return None if area >= VIEWPORT_FIRST_MAX_SHARE * self._shape[0] * self._shape[1] else region

    def _preview_between_steps(self, epoch: int, step: int = 0) -> None:
        """A preview round when one is due: the viewport (or the whole image) first, each piece shown as it
        is done, then the rest; rounds start every preview_every_s, longer when they cost more than
        preview_cost_share of the time. A new image or stop ends a round early."""
        if self.stopping or self._trainer is None:
            return
        changed = self._give_preview_image()
        if self._given_id is None or not (changed or time.perf_counter() >= self._next_preview):
            return
        started = time.perf_counter()
        region = self._first_region()
        pieces = [region] + rest_regions(self._shape, region) if region else [None]
        for piece in pieces:
            event = self._trainer.preview(epoch, step, piece)
            if event is not None:
                self._emit_preview(event)
            if self.stopping or self._give_preview_image():
                self._next_preview = 0.0  # the new image's round starts at the next step
                return
        cost = time.perf_counter() - started
        self._next_preview = started + max(self.preview_every_s, cost / self.preview_cost_share)

    def _emit_preview(self, event: PreviewReady) -> None:
        if self._given_id is not None:
            self.preview_ready.emit(PreviewFrame.of(self._given_id, event))
