"""ChunkedLabelBuffer: the GUI's view of a big image's chunked labels (core ChunkedLabels), chunk by chunk.

Chunks are read from the store when first needed (a chunk never written is zeros and is not read at all)
and kept in memory: edited chunks ("dirty") until the next autosave takes copies of them, unedited ones in
a least-recently-used set bounded in bytes. Reads and writes touch only the chunks of their rectangle, and
an undo patch is applied chunk by chunk, so a brush dab costs the same on a 50,000 px image as on a small
one. Used on the GUI thread only; the autosave thread gets copies (`take_dirty`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from unet_studio.core.undo_patch import BBox, Patch

CLEAN_CHUNK_BYTES = 128 * 2**20  # unedited chunks kept in memory


def _span(start: int, stop: int, step: int, chunk: int) -> range:
    """Indices of the chunks holding the sampled positions start, start+step, ... < stop."""
    if stop <= start:
        return range(0)
    last = start + (stop - 1 - start) // step * step
    return range(start // chunk, last // chunk + 1)


class ChunkedLabelBuffer:
    """Chunks of one image's labels in memory over its ChunkedLabels store."""

    def __init__(self, store, shape: tuple[int, int], chunk: int, dtype=np.uint8,
                 clean_bytes: int = CLEAN_CHUNK_BYTES):
        self.store, self.shape, self.chunk, self.dtype = store, tuple(shape), int(chunk), np.dtype(dtype)
        self._on_disk = {tuple(key) for key in store.chunks_stored()}
        self._chunks: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._dirty: set[tuple[int, int]] = set()
        self._saving: set[tuple[int, int]] = set()  # handed to the autosave thread, not yet on disk
        self._clean_bytes = int(clean_bytes)
        self.chunks_read = 0  # chunks read from the store so far (tests, benchmarks)

    @property
    def dirty(self) -> frozenset:
        """Keys (cy, cx) of the chunks edited since the last `take_dirty`."""
        return frozenset(self._dirty)

    @property
    def nbytes(self) -> int:
        """Memory held by the chunks in memory."""
        return sum(a.nbytes for a in self._chunks.values())

    def has_labels(self) -> bool:
        """Whether any chunk was ever written or edited (False: the image is unlabelled)."""
        return bool(self._on_disk or self._dirty or self._saving)

    def chunk_bounds(self, key: tuple[int, int]) -> BBox:
        """(y0, x0, y1, x1) of chunk `key` in image pixels."""
        cy, cx = key
        y0, x0 = cy * self.chunk, cx * self.chunk
        return y0, x0, min(self.shape[0], y0 + self.chunk), min(self.shape[1], x0 + self.chunk)

    def _get(self, key: tuple[int, int], create: bool) -> np.ndarray | None:
        """The chunk's array (read on first use); None for a chunk never written, unless `create`."""
        array = self._chunks.get(key)
        if array is not None:
            self._chunks.move_to_end(key)
            return array
        y0, x0, y1, x1 = self.chunk_bounds(key)
        if key in self._on_disk:
            array = np.array(self.store.read(y0, y1, x0, x1), dtype=self.dtype)
            self.chunks_read += 1
        elif create:
            array = np.zeros((y1 - y0, x1 - x0), self.dtype)
        else:
            return None
        self._chunks[key] = array
        self._evict()
        return array

    def _evict(self) -> None:
        clean = [k for k in self._chunks if k not in self._dirty and k not in self._saving]
        total = sum(self._chunks[k].nbytes for k in clean)
        for key in clean:
            if total <= self._clean_bytes:
                break
            total -= self._chunks.pop(key).nbytes

    def read(self, y0: int, y1: int, x0: int, x1: int, step: int = 1) -> np.ndarray:
        """Rows y0, y0+step, ... < y1 and columns likewise (a copy); step > 1 samples every step-th pixel
        for a zoomed-out view, reading only the chunks the samples fall in."""
        out = np.zeros((len(range(y0, y1, step)), len(range(x0, x1, step))), self.dtype)
        for cy in _span(y0, y1, step, self.chunk):
            for cx in _span(x0, x1, step, self.chunk):
                array = self._get((cy, cx), create=False)
                if array is None:
                    continue
                cy0, cx0, cy1, cx1 = self.chunk_bounds((cy, cx))
                ry0 = y0 + -(-(max(cy0, y0) - y0) // step) * step  # first sampled row in the chunk
                rx0 = x0 + -(-(max(cx0, x0) - x0) // step) * step
                ry1, rx1 = min(cy1, y1), min(cx1, x1)
                if ry0 >= ry1 or rx0 >= rx1:
                    continue
                part = array[ry0 - cy0:ry1 - cy0:step, rx0 - cx0:rx1 - cx0:step]
                oy, ox = (ry0 - y0) // step, (rx0 - x0) // step
                out[oy:oy + part.shape[0], ox:ox + part.shape[1]] = part
        return out

    def value_at(self, y: int, x: int) -> int:
        """The label at one pixel (0 outside the image)."""
        if not (0 <= y < self.shape[0] and 0 <= x < self.shape[1]):
            return 0
        array = self._get((y // self.chunk, x // self.chunk), create=False)
        return 0 if array is None else int(array[y % self.chunk, x % self.chunk])

    def apply(self, patch: Patch, new: bool = True) -> None:
        """Write a patch's new (or, undoing, old) values, chunk by chunk; the chunks become dirty."""
        rows = patch.rows.astype(np.int64) + patch.bbox[0]
        cols = patch.cols.astype(np.int64) + patch.bbox[1]
        values = patch.new_values if new else patch.old_values
        cys, cxs = rows // self.chunk, cols // self.chunk
        for cy, cx in self._pairs(cys, cxs):
            select = (cys == cy) & (cxs == cx)
            array = self._get((cy, cx), create=True)
            array[rows[select] - cy * self.chunk, cols[select] - cx * self.chunk] = values[select]
            self._dirty.add((cy, cx))

    @staticmethod
    def _pairs(cys: np.ndarray, cxs: np.ndarray) -> set[tuple[int, int]]:
        return {(int(a), int(b)) for a, b in np.unique(np.stack([cys, cxs], axis=1), axis=0)}

    def take_dirty(self) -> dict[tuple[int, int], np.ndarray]:
        """Copies of the chunks edited since the last call, for the autosave thread. They stay in memory
        until the thread reports them written (`saved`) or failed (`give_back`)."""
        taken = {key: self._chunks[key].copy() for key in sorted(self._dirty)}
        self._saving.update(self._dirty)
        self._dirty.clear()
        return taken

    def saved(self, keys) -> None:
        """These chunks are on disk now: memory may drop them."""
        keys = set(keys)
        self._saving -= keys
        self._on_disk |= keys
        self._evict()

    def give_back(self, keys) -> None:
        """Saving these chunks failed: they are dirty again, so the next save retries them."""
        keys = set(keys)
        self._saving -= keys
        self._dirty |= keys

    def chunks_with_labels(self, y0: int, y1: int, x0: int, x1: int) -> list[tuple[int, int]]:
        """Keys of the chunks in the rectangle that may hold labels (written, in memory); others are zeros."""
        if y1 <= y0 or x1 <= x0:
            return []
        known = self._on_disk | self._chunks.keys()
        return [(cy, cx) for cy in range(y0 // self.chunk, (y1 - 1) // self.chunk + 1)
                for cx in range(x0 // self.chunk, (x1 - 1) // self.chunk + 1) if (cy, cx) in known]
