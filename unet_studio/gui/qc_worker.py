"""Quality control after training: per-class Dice/IoU of the new and the previous model on the validation
images, computed in a worker thread by inference.scoring.score_model (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal

from unet_studio.gui.workers import JobWorker
from unet_studio.inference.scoring import QcImage, score_model


@dataclass(frozen=True)
class QcJob:
    """The models (id, name, checkpoint file), new one first, and the images to score them on."""

    models: tuple[tuple[str, str, Path], ...]
    images: tuple[QcImage, ...]


class QcWorker(JobWorker):
    """Scores the new model and, if given, the previous one; emits `scored(new, previous)` then `finished`."""

    scored = Signal(object, object)
    what = "quality check"

    def __init__(self, job: QcJob):
        super().__init__()
        self.job = job

    def work(self) -> None:
        results = [score_model(model_id, name, path, list(self.job.images), self.stop_event)
                   for model_id, name, path in self.job.models]
        if not self.stopping:
            self.scored.emit(results[0], results[1] if len(results) > 1 else None)
