"""ChunkSaver: writes a big image's edited label chunks in a background thread (autosave off the GUI thread).

The GUI thread hands over copies of the chunks edited since the last save (ChunkedLabelBuffer.take_dirty);
the thread writes each through `ChunkedLabels.write` (one atomic file per chunk: only the chunks touched are
written, never the whole image) and then asks the store for the image's label status. Results come back
through `results()` on the GUI thread (poked by `written`); `flush()` blocks until all is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject

from unet_studio.core.errors import StudioError
from unet_studio.gui.background_writer import BackgroundWriter


@dataclass(frozen=True)
class ChunkSave:
    """One finished save: the chunk keys written (or the one-line reason it failed) and the new status."""

    image_id: str
    keys: tuple
    status: str | None = None
    error: str | None = None


class ChunkSaver(BackgroundWriter):
    """One writer thread for the label chunks of big images."""

    def __init__(self, parent: QObject | None = None):
        super().__init__("chunk-saver", parent=parent)
        self._queue: list[tuple[str, object, int, dict]] = []

    def submit(self, image_id: str, store, chunk: int, chunks: dict) -> None:
        """Queue chunk copies {(cy, cx): array} of an image for `store` (chunk side `chunk`)."""
        if not chunks:
            return
        with self._cond:
            self._queue.append((image_id, store, chunk, chunks))
            self._wake()

    def _has_work(self) -> bool:
        return bool(self._queue)

    def _take(self):
        return self._queue.pop(0)

    def _work(self, job) -> ChunkSave:
        return self._write(*job)

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
