"""PredictionWorker: predicts a list of project images with one model file (checkpoint or bioimage.io package) in a QThread.

Images are read and predicted in the worker thread; each result crosses to the GUI thread as numpy arrays
the worker no longer uses. Storing them (Project.save_prediction) is left to the GUI thread, which owns
the project. `stop()` is a direct call; the tiling loop checks it between tiles. One JobWorker (workers.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal

from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.gui.workers import JobWorker
from unet_studio.inference.model_files import load_predictor


@dataclass(frozen=True)
class PredictionJob:
    """The checkpoint and the (image id, image file, planes) to predict, resolved on the GUI thread (planes:
    which planes of a stack, (0,) for a single-plane image)."""

    checkpoint: Path
    images: tuple[tuple[str, Path, tuple[int, ...]], ...]
    device: str = "auto"


class PredictionWorker(JobWorker):
    """Emits `image_predicted(image_id, plane, mask, probabilities | None)` per image plane; `finished` comes
    last."""

    model_loaded = Signal(object)  # the checkpoint's threshold (float) or None
    image_predicted = Signal(str, int, object, object)
    progress_changed = Signal(int, int)  # image planes done, total
    problem_found = Signal(str)  # one image failed (one line); the others go on
    what = "prediction"

    def __init__(self, job: PredictionJob):
        super().__init__()
        self.job = job

    @property
    def cancelled(self) -> bool:
        return self.stopping

    def work(self) -> None:
        predictor = load_predictor(self.job.checkpoint, device=self.job.device)
        self.model_loaded.emit(predictor.threshold)
        jobs = [(image_id, path, plane) for image_id, path, planes in self.job.images for plane in planes]
        for done, (image_id, path, plane) in enumerate(jobs, start=1):
            if self.stopping:
                return
            try:
                pixels = read_image(path, plane=plane).pixels
                result = predictor.predict(pixels, stop=self.stop_event, source=path.name)
            except StudioError as error:
                self.problem_found.emit(str(error))
                self.progress_changed.emit(done, len(jobs))
                continue
            if result is None:
                return
            self.image_predicted.emit(image_id, plane, result.mask, result.probabilities)
            self.progress_changed.emit(done, len(jobs))
