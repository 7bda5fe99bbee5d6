"""AnnotationWriter: encodes and writes annotation files in one background thread (autosave off the GUI thread).

Encoding an 8192 x 8192 label image as PNG takes ~220 ms and the atomic write fsyncs, so the GUI thread
only copies the changed rectangle (`submit`); the writer keeps its own full copy of the image's labels
(`begin`), applies the queued rectangles to it in order, and writes it once however many saves of that
image were queued meanwhile (coalescing). Results come back through `results()` (drained on the GUI thread,
poked by the `written` signal); `flush()` blocks until every queued save is on disk. The thread starts
with the first save and ends after IDLE_EXIT_S without one.
Only numpy copies cross threads; the writer never touches the project (its manifest is the GUI thread's).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from unet_studio.core.annotations import classes_present, label_status, write_annotation
from unet_studio.core.errors import StudioError

IDLE_EXIT_S = 5.0  # the thread ends after this long with nothing to write; the next save starts a new one

@dataclass(frozen=True)
class LabelRegion:
    """New values of the rectangle rows y0:y1, columns x0:x1 of an image's labels."""

    y0: int
    x0: int
    values: np.ndarray


@dataclass(frozen=True)
class WriteResult:
    """One finished write of the saves up to number `seq`: the label status and values of what was written,
    or the one-line reason it failed."""

    image_id: str
    seq: int
    status: str | None = None
    values: tuple[int, ...] = ()
    error: str | None = None


class AnnotationWriter(QObject):
    """One writer thread for the document's annotation files."""

    written = Signal()  # results are waiting: call results() on the GUI thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._labels: dict[str, tuple[Path, np.ndarray]] = {}
        self._queue: dict[str, tuple[int, list[LabelRegion]]] = {}
        self._results: list[WriteResult] = []
        self._busy = False
        self._thread: threading.Thread | None = None

    def begin(self, image_id: str, stem: Path, labels: np.ndarray) -> None:
        """Hand over a private copy of an image's labels as they are on disk now (writes go to `stem`.png|tif)."""
        with self._cond:
            self._labels[image_id] = (Path(stem), labels)

    def forget(self, image_id: str) -> None:
        """Drop the writer's copy (after a flush: the image is no longer shown)."""
        with self._cond:
            self._labels.pop(image_id, None)

    def submit(self, image_id: str, regions: list[LabelRegion], seq: int = 0) -> None:
        """Queue save number `seq` of `image_id` with these changed rectangles (copies the caller gave up)."""
        with self._cond:
            if image_id not in self._labels:
                raise StudioError(image_id, "autosave: labels were never handed to the writer")
            queued = self._queue.get(image_id, (seq, []))[1]
            self._queue[image_id] = (seq, queued + list(regions))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="annotation-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout_s: float | None = 60.0) -> bool:
        """Block until every queued save is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def results(self) -> list[WriteResult]:
        """The writes finished since the last call, oldest first."""
        with self._cond:
            done, self._results = self._results, []
        return done

    @property
    def running(self) -> bool:
        """Whether the writer thread exists now (it ends when idle)."""
        with self._cond:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            with self._cond:
                idle_until = time.monotonic() + IDLE_EXIT_S
                while not self._queue and time.monotonic() < idle_until:
                    self._cond.wait(max(0.0, idle_until - time.monotonic()))
                if not self._queue:
                    self._thread = None
                    return
                image_id = next(iter(self._queue))
                seq, regions = self._queue.pop(image_id)
                stem, labels = self._labels[image_id]
                self._busy = True
            result = self._write(image_id, seq, stem, labels, regions)
            with self._cond:
                self._results.append(result)
                self._busy = False
                self._cond.notify_all()
            self.written.emit()

    @staticmethod
    def _write(image_id: str, seq: int, stem: Path, labels: np.ndarray, regions: list[LabelRegion]) -> WriteResult:
        for region in regions:
            h, w = region.values.shape
            labels[region.y0:region.y0 + h, region.x0:region.x0 + w] = region.values
        try:
            stem.parent.mkdir(exist_ok=True)
            write_annotation(stem, labels)
        except StudioError as error:
            return WriteResult(image_id, seq, error=str(error))
        except OSError as error:
            return WriteResult(image_id, seq, error=f"{stem}: cannot save annotation ({error.strerror or error})")
        return WriteResult(image_id, seq, status=label_status(labels), values=classes_present(labels))
