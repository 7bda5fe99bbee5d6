"""PredictionWorker: predicts a list of project images with one checkpoint in a QThread.

Images are read and predicted in the worker thread; each result crosses to the GUI thread as numpy arrays
the worker no longer uses. Storing them (Project.save_prediction) is left to the GUI thread, which owns
the project. `stop()` is a direct call; the tiling loop checks it between tiles.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal, Slot

from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.inference.predictor import Predictor
from unet_studio.gui.training_worker import one_line_failure


class PredictionWorker(QObject):
    """Emits `image_predicted(image_id, mask, probabilities | None)` per image; `finished` comes last."""

    model_loaded = Signal(object)  # the checkpoint's threshold (float) or None
    image_predicted = Signal(str, object, object)
    progress_changed = Signal(int, int)  # done, total
    problem_found = Signal(str)  # one image failed (one line); the others go on
    failed = Signal(str)  # the whole job failed (model unreadable...)
    finished = Signal()

    def __init__(self, checkpoint: Path, images: list[tuple[str, Path]], device: str = "auto"):
        super().__init__()
        self.checkpoint = Path(checkpoint)
        self.images = list(images)
        self.device = device
        self.cancelled = False
        self._stop = threading.Event()

    def stop(self) -> None:
        """Cancel after the current tile (thread-safe, called directly)."""
        self.cancelled = True
        self._stop.set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        try:
            predictor = Predictor.from_checkpoint(self.checkpoint, device=self.device)
            self.model_loaded.emit(predictor.threshold)
            self._predict_all(predictor)
        except Exception as error:  # the job ends with one line, never a traceback
            self.failed.emit(one_line_failure(error, "prediction"))
        finally:
            self.finished.emit()

    def _predict_all(self, predictor: Predictor) -> None:
        total = len(self.images)
        for done, (image_id, path) in enumerate(self.images, start=1):
            if self._stop.is_set():
                return
            try:
                pixels = read_image(path).pixels
                result = predictor.predict(pixels, stop=self._stop, source=path.name)
            except StudioError as error:
                self.problem_found.emit(str(error))
                self.progress_changed.emit(done, total)
                continue
            if result is None:
                return
            self.image_predicted.emit(image_id, result.mask, result.probabilities)
            self.progress_changed.emit(done, total)
