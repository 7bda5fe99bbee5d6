"""Quality control after training: per-class Dice/IoU of the new and the previous model on the validation
images, computed in a worker thread by inference.scoring.score_model (Qt-free)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.gui.training_worker import one_line_failure
from unet_studio.inference.scoring import QcImage, score_model


class QcWorker(QObject):
    """Scores the new model and, if given, the previous one; emits `scored(new, previous)` then `finished`."""

    scored = Signal(object, object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, models: list[tuple[str, str, Path]], images: list[QcImage]):
        super().__init__()
        self.models, self.images = list(models), list(images)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        try:
            results = [score_model(model_id, name, path, self.images, self._stop)
                       for model_id, name, path in self.models]
            if not self._stop.is_set():
                self.scored.emit(results[0], results[1] if len(results) > 1 else None)
        except Exception as error:  # one line, never a traceback
            self.failed.emit(one_line_failure(error, "quality check"))
        finally:
            self.finished.emit()
