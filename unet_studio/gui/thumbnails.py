"""Thumbnails made off the GUI thread and kept in a bounded in-memory LRU cache.

Only numpy arrays and strings cross threads: a QRunnable reads and shrinks the image, then emits
the array through the loader's signal (queued to the GUI thread). Memory stays bounded whatever the
number of images browsed: at most CACHE_SIZE small arrays.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from unet_studio.core.errors import ImageReadError, StudioError
from unet_studio.core.image_headers import MAX_PIXELS
from unet_studio.core.images import read_image
from unet_studio.gui.display import DisplaySettings, render
from unet_studio.io.ome_zarr import is_multiscale_path, open_multiscale

THUMBNAIL_SIZE = 64
CACHE_SIZE = 512


def make_thumbnail(path: str | Path, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """uint8 (h, w) or (h, w, 3) image of at most size x size pixels (raises ImageReadError). A big
    multiscale image (OME-Zarr, pyramidal TIFF) gives its coarsest level, never its full size."""
    pixels = coarsest_level(path) if is_multiscale_path(path) else read_image(path).pixels
    step = max(1, math.floor(max(pixels.shape[:2]) / (2 * size)))
    small = render(np.ascontiguousarray(pixels[::step, ::step]), DisplaySettings())
    h, w = small.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        small = cv2.resize(small, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small)


def coarsest_level(path: str | Path) -> np.ndarray:
    """(h, w, C) pixels of a multiscale image's smallest level; refused when even that is over MAX_PIXELS / 64."""
    with open_multiscale(path) as source:
        h, w = source.levels[-1]
        if h * w > MAX_PIXELS // 64:
            raise ImageReadError(path, f"no pyramid level small enough for a thumbnail ({h} x {w})")
        pixels = source.read(len(source.levels) - 1, 0, h, 0, w)
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


class ThumbnailJob(QRunnable):
    """Reads one image in a pool thread and reports the thumbnail or the one-line reason it failed."""

    def __init__(self, loader: "ThumbnailLoader", image_id: str, path: Path):
        super().__init__()
        self._loader, self._image_id, self._path = loader, image_id, path

    def run(self) -> None:
        try:
            thumbnail = make_thumbnail(self._path)
        except StudioError as exc:
            self._loader.job_finished.emit(self._image_id, None, str(exc))
        except (OSError, ValueError, MemoryError) as exc:
            self._loader.job_finished.emit(self._image_id, None, f"{self._path}: cannot make thumbnail ({exc})")
        else:
            self._loader.job_finished.emit(self._image_id, thumbnail, "")


class ThumbnailLoader(QObject):
    """Requests thumbnails by image id; `thumbnail_ready` / `thumbnail_failed` say when one is known."""

    job_finished = Signal(str, object, str)  # emitted from pool threads, queued to the GUI thread
    thumbnail_ready = Signal(str)
    thumbnail_failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None, cache_size: int = CACHE_SIZE):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # leave the other cores to the GUI and training
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_size = cache_size
        self._pending: set[str] = set()
        self.errors: dict[str, str] = {}
        self.job_finished.connect(self._on_job_finished)

    def get(self, image_id: str) -> np.ndarray | None:
        """The cached thumbnail (marks it recently used), or None."""
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        return None

    def request(self, image_id: str, path: Path) -> None:
        """Make the thumbnail in the background unless cached, failed or already queued."""
        if image_id in self._cache or image_id in self._pending or image_id in self.errors:
            return
        self._pending.add(image_id)
        self._pool.start(ThumbnailJob(self, image_id, Path(path)))

    def clear(self) -> None:
        """Cancel queued jobs and empty the cache (a new project)."""
        self._pool.clear()
        self._pending.clear()
        self._cache.clear()
        self.errors.clear()

    def wait(self, msecs: int = 5000) -> bool:
        """Block until running jobs end (shutdown and tests)."""
        return self._pool.waitForDone(msecs)

    @property
    def cached_count(self) -> int:
        return len(self._cache)

    @property
    def pending_count(self) -> int:
        """Jobs queued or running."""
        return len(self._pending)

    def _on_job_finished(self, image_id: str, thumbnail, error: str) -> None:
        if image_id not in self._pending:
            return  # cleared while it ran
        self._pending.discard(image_id)
        if thumbnail is None:
            self.errors[image_id] = error
            self.thumbnail_failed.emit(image_id, error)
            return
        self._cache[image_id] = thumbnail
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self.thumbnail_ready.emit(image_id)
