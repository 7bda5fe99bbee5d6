"""TileLoader: reads and renders image tiles of a multiscale source on a small thread pool.

The GUI thread asks for tiles (`request`); a pool thread reads the tile's pixels from the lazy source
(`MultiscaleImage.read`, never the whole image), applies the fixed display contrast and sends a uint8 copy
back through a queued signal to the loader (which lives on the GUI thread), which hands it to its
`on_tile` callback there. Requests for tiles that
left the view before a thread picked them up are skipped (`set_wanted`), so a fast pan never queues
minutes of reading. Only the tile key and numpy copies cross threads.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot

from unet_studio.gui.display import DisplaySettings, render
from unet_studio.gui.tiled_grid import TILE, TileKey, tile_bounds

LOADER_THREADS = 2


class TileLoader(QObject):
    """Loads display tiles of one source, with one contrast setting (a new setting = `reset`)."""

    _loaded = Signal(object, int, object)  # TileKey, generation, uint8 (h, w) or (h, w, 3): from a pool thread
    _failed = Signal(str)  # from a pool thread
    tile_failed = Signal(str)  # on the GUI thread: one line, which tile could not be read and why

    def __init__(self, source, settings: DisplaySettings, ranges: list, parent: QObject | None = None):
        super().__init__(parent)
        self.source = source
        self._settings, self._ranges = settings, ranges
        self._generation = 0
        self._wanted: frozenset = frozenset()
        self._pending: set[TileKey] = set()
        self._lock = threading.Lock()
        self.loader_threads: set[int] = set()  # ids of the threads that read tiles (the tests check them)
        self.on_tile = None  # called on the GUI thread with (key, pixels) for every current tile that arrives
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(LOADER_THREADS)
        self._loaded.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._failed.connect(self.tile_failed, Qt.ConnectionType.QueuedConnection)

    @property
    def generation(self) -> int:
        """Bumped by `reset`: tiles of an older generation are stale when they arrive."""
        return self._generation

    def reset(self, settings: DisplaySettings, ranges: list) -> None:
        """New contrast: queued tiles are dropped, tiles already loading come back stale."""
        self._pool.clear()
        with self._lock:
            self._settings, self._ranges = settings, ranges
            self._generation += 1
            self._pending.clear()

    def set_wanted(self, keys) -> None:
        """The tiles the view needs now; queued requests for others are skipped."""
        with self._lock:
            self._wanted = frozenset(keys)

    def request(self, key: TileKey) -> None:
        """Load a tile unless it is already on its way."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
            generation = self._generation
        self._pool.start(lambda: self._load(key, generation))

    def is_pending(self, key: TileKey) -> bool:
        with self._lock:
            return key in self._pending

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until no tile is loading (tests, closing)."""
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self) -> None:
        """Drop queued tiles and wait for those loading (before the source goes away); nothing more arrives."""
        self.on_tile = None
        self._pool.clear()
        self._pool.waitForDone(30000)

    def _load(self, key: TileKey, generation: int) -> None:
        with self._lock:
            settings, ranges = self._settings, self._ranges
            skip = generation != self._generation or (self._wanted and key not in self._wanted)
            if skip:
                self._pending.discard(key)
        if skip:
            return
        self.loader_threads.add(threading.get_ident())
        try:
            y0, y1, x0, x1 = tile_bounds(self.source.levels, key, TILE)
            raw = np.asarray(self.source.read(key.level, y0, y1, x0, x1))
            pixels = render(raw[:, :, None] if raw.ndim == 2 else raw, settings, ranges)
        except Exception as error:  # a broken chunk: one line, the view keeps the coarser tile
            with self._lock:
                self._pending.discard(key)
            self._failed.emit(f"{self.source.path}: cannot read tile {key} ({type(error).__name__}: {error})")
            return
        self._loaded.emit(key, generation, np.ascontiguousarray(pixels))  # still pending: no second request

    @Slot(object, int, object)
    def _deliver(self, key: TileKey, generation: int, pixels: np.ndarray) -> None:
        with self._lock:
            self._pending.discard(key)
            current = generation == self._generation
        if current and self.on_tile is not None:
            self.on_tile(key, pixels)
