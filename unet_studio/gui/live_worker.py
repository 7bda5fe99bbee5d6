"""LiveTrainingWorker: a TrainingWorker around `iter_train_live`, a run with no end of its own.

The GUI steers it through thread-safe direct calls (as `stop`): pause / resume, keep the current weights,
a new project snapshot, "labels were just written". Between steps it previews the viewed image as the
TrainingWorker does and, within SCORE_COST_SHARE of the run's time, predicts the unlabelled images in
turn (a centre crop of at most SCORE_SIDE pixels a side, at full resolution, so the scale the model
learnt stays) and emits each one's mean uncertainty for the browser's "most uncertain first" order.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal

from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.core.normalize import normalize_for_network
from unet_studio.gui.live_uncertainty import PlaneTurns, mean_uncertainty
from unet_studio.gui.training_worker import TrainingJob, TrainingWorker
from unet_studio.models.checkpoint import DEFAULT_NORMALIZATION
from unet_studio.training.events import LabelsReloaded, ModelKept, StepEnded
from unet_studio.training.live import LiveControl, iter_train_live
from unet_studio.training.project_source import ProjectSnapshot

SCORE_COST_SHARE = 0.1  # at most this share of the run goes into scoring unlabelled images
SCORE_SIDE = 256  # the centre crop scored of each unlabelled image
LIVE_PREVIEW_EVERY_S = 4.0  # rounds start at the first step after this, so they arrive within ~5 s


def centre_crop(pixels: np.ndarray, side: int = SCORE_SIDE) -> np.ndarray:
    """The centre `side` x `side` pixels (all of a smaller image) of (H, W, C) pixels."""
    h, w = pixels.shape[:2]
    y0, x0 = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return pixels[y0:y0 + side, x0:x0 + side]


class LiveTrainingWorker(TrainingWorker):
    """Trains live until stopped; `finished` is always the last signal."""

    labels_reloaded = Signal(object)  # LabelsReloaded
    model_kept = Signal(object)  # ModelKept
    uncertainty_scored = Signal(str, float)  # image id, mean uncertainty of its centre crop (a stack: its most uncertain plane's)
    what = "live training"

    def __init__(self, job: TrainingJob, preview_every_s: float | None = None):
        super().__init__(job, LIVE_PREVIEW_EVERY_S if preview_every_s is None else preview_every_s)
        self.control = LiveControl()
        self._unlabelled: tuple[tuple[str, Path], ...] = ()  # set by the GUI thread, under _lock
        self._score_index = 0  # the rest: training thread only
        self._planes = PlaneTurns()  # stacks are scored a plane a turn
        self._score_cost = 0.0
        self._started = time.perf_counter()

    # ----- steering (thread-safe, direct calls from the GUI thread)
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def keep_model(self, path: Path) -> None:
        """Ask for the current weights in `path`; model_kept follows once they are written."""
        self.control.keep_model(path)

    def update_snapshot(self, snapshot: ProjectSnapshot) -> None:
        self.control.update_snapshot(snapshot)

    def labels_changed(self) -> None:
        self.control.labels_changed()

    def set_unlabelled(self, images: tuple[tuple[str, Path], ...]) -> None:
        """The unlabelled images (id, file) to score in turn."""
        with self._lock:
            self._unlabelled = tuple(images)

    # ----- the run (training thread)
    def _events(self):
        job = self.job
        self._started = time.perf_counter()
        return iter_train_live(job.snapshot, job.out_path, job.model_config, job.train_config,
                               init=job.init_checkpoint, stop=self.stop_event, control=self.control,
                               on_trainer=self._on_trainer)

    def _handle(self, event) -> None:
        if isinstance(event, LabelsReloaded):
            self.labels_reloaded.emit(event)
        elif isinstance(event, ModelKept):
            self.model_kept.emit(event)
        else:
            super()._handle(event)

    def _between_steps(self, event: StepEnded) -> None:
        super()._between_steps(event)
        if not self.stopping and not self.control.paused:
            self._score_next()

    def _score_next(self) -> None:
        """Score one unlabelled image when scoring has used less than its share of the time so far. A stack
        scores one plane a turn, the next plane each time, and counts as uncertain as its most uncertain plane."""
        if self._trainer is None or self._score_cost > SCORE_COST_SHARE * (time.perf_counter() - self._started):
            return
        with self._lock:
            images = self._unlabelled
        if not images:
            return
        image_id, path = images[self._score_index % len(images)]
        self._score_index += 1
        started = time.perf_counter()
        plane = self._planes.next_plane(image_id)
        try:
            image = read_image(path, plane)
        except StudioError:
            self._score_cost += time.perf_counter() - started
            self._planes.forget(image_id)  # the file may have changed: plane 0 next time
            return  # the browser already says why the file cannot be read
        pixels = centre_crop(image.pixels)
        if pixels.ndim != 3 or pixels.shape[2] != self._trainer.model_config.in_channels:
            return
        norm = {**DEFAULT_NORMALIZATION, **(self._trainer.normalization or {})}
        probabilities = self._trainer.predict(normalize_for_network(pixels, norm["low"], norm["high"]))
        self._score_cost += time.perf_counter() - started
        score = self._planes.record(image_id, plane, image.n_planes, mean_uncertainty(probabilities))
        self.uncertainty_scored.emit(image_id, score)
