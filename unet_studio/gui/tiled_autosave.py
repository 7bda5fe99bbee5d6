"""ChunkSaver: writes a big image's edited label chunks in a background thread (autosave off the GUI thread).

The GUI thread hands over copies of the chunks edited since the last save (ChunkedLabelBuffer.take_dirty);
the thread writes each through `ChunkedLabels.write` (one atomic file per chunk: only the chunks touched are
written, never the whole image) and then asks the store for the image's label status. Results come back
through `results()` on the GUI thread (poked by `written`); `flush()` blocks until all is on disk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from unet_studio.core.errors import StudioError


@dataclass(frozen=True)
class ChunkSave:
    """One finished save: the chunk keys written (or the one-line reason it failed) and the new status."""

    image_id: str
    keys: tuple
    status: str | None = None
    error: str | None = None


class ChunkSaver(QObject):
    """One writer thread for the label chunks of big images."""

    written = Signal()  # results are waiting: call results() on the GUI thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._queue: list[tuple[str, object, int, dict]] = []
        self._results: list[ChunkSave] = []
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, image_id: str, store, chunk: int, chunks: dict) -> None:
        """Queue chunk copies {(cy, cx): array} of an image for `store` (chunk side `chunk`)."""
        if not chunks:
            return
        with self._cond:
            self._queue.append((image_id, store, chunk, chunks))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="chunk-saver", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout_s: float | None = 60.0) -> bool:
        """Block until every queued chunk is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def results(self) -> list[ChunkSave]:
        """The saves finished since the last call, oldest first."""
        with self._cond:
            done, self._results = self._results, []
        return done

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._thread = None
                    return
                image_id, store, chunk, chunks = self._queue.pop(0)
                self._busy = True
            result = self._write(image_id, store, chunk, chunks)
            with self._cond:
                self._results.append(result)
                self._busy = False
                self._cond.notify_all()
            self.written.emit()

    @staticmethod
    def _write(image_id: str, store, chunk: int, chunks: dict) -> ChunkSave:
        keys = tuple(chunks)
        try:
            for (cy, cx), array in chunks.items():
                store.write(cy * chunk, cx * chunk, array)
            return ChunkSave(image_id, keys, status=store.status())
        except StudioError as error:
            return ChunkSave(image_id, keys, error=str(error))
        except OSError as error:
            return ChunkSave(image_id, keys, error=f"{image_id}: cannot save label chunks ({error.strerror or error})")
