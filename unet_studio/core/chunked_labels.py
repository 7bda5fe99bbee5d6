"""Labels of an image too big for one annotation file: a folder of square chunks, one ``<cy>_<cx>.npy``
file each, every chunk written atomically (core.atomic), so a crash mid-write leaves the old chunk readable.

Values follow the annotation convention (0 = unlabelled, 1 = background, 2.. = classes). A chunk that
becomes all 0 is deleted, so a sparsely labelled 50,000 x 50,000 image costs disk only where it is labelled.
``index.json`` (atomic too) keeps the geometry and each chunk's label status and pixels per value with the
file's mtime and size, so ``status()`` and ``chunk_counts()`` read only chunks changed behind the index's
back (a writer killed between chunk and index).
"""

from __future__ import annotations

import io
import json
import math
import os
import threading
from pathlib import Path

import numpy as np

from unet_studio.core.annotations import label_status
from unet_studio.core.atomic import atomic_write_json, atomic_writer, remove_stale_temp_files
from unet_studio.core.errors import AnnotationError

INDEX_NAME = "index.json"
CHUNKED_SUFFIX = ".chunks"
_FORMAT = 1


class ChunkedLabels:
    """A chunked label store of shape (H, W) in ``folder`` (made on the first write)."""

    def __init__(self, folder: str | os.PathLike, shape: tuple[int, int], chunk: int = 1024, dtype=None):
        """``dtype`` uint8 or uint16 (None: the stored one, else uint8)."""
        self.folder = Path(folder)
        self.shape = (int(shape[0]), int(shape[1]))
        self.chunk = int(chunk)
        self.dtype = np.dtype(dtype or _stored_dtype(self.folder) or "uint8")
        if min(self.shape) <= 0 or self.chunk <= 0 or self.dtype not in (np.uint8, np.uint16):
            raise AnnotationError(self.folder, f"bad chunked labels geometry (shape {self.shape}, chunk {chunk}, {dtype})")
        self.grid = (math.ceil(self.shape[0] / self.chunk), math.ceil(self.shape[1] / self.chunk))
        self._lock = threading.Lock()
        self._touched: set[tuple[int, int]] = set()
        self._index = self._load_index()
        if self.folder.is_dir():
            remove_stale_temp_files(self.folder)

    @classmethod
    def existing(cls, folder: str | os.PathLike, shape: tuple[int, int], chunk: int = 1024) -> ChunkedLabels:
        """The store in ``folder`` with the chunk side its index records (``chunk`` when it has none yet)."""
        return cls(folder, shape, stored_chunk(Path(folder)) or chunk)

    # --- geometry ------------------------------------------------------------------------------
    def chunk_bounds(self, cy: int, cx: int) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of chunk (cy, cx), clipped at the image's edge."""
        c = self.chunk
        return cy * c, min((cy + 1) * c, self.shape[0]), cx * c, min((cx + 1) * c, self.shape[1])

    def chunks_in(self, y0: int, y1: int, x0: int, x1: int) -> list[tuple[int, int]]:
        """The chunks a region [y0:y1, x0:x1] overlaps, row by row."""
        c = self.chunk
        return [(cy, cx) for cy in range(max(0, y0) // c, min(self.grid[0], -(-y1 // c)))
                for cx in range(max(0, x0) // c, min(self.grid[1], -(-x1 // c)))]

    def chunk_path(self, cy: int, cx: int) -> Path:
        return self.folder / f"{cy}_{cx}.npy"

    # --- reading -------------------------------------------------------------------------------
    def read(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Labels of [y0:y1, x0:x1] (clipped to the image); chunks never written read as 0."""
        y0, y1 = max(0, int(y0)), min(self.shape[0], int(y1))
        x0, x1 = max(0, int(x0)), min(self.shape[1], int(x1))
        out = np.zeros((max(0, y1 - y0), max(0, x1 - x0)), self.dtype)
        for cy, cx in self.chunks_in(y0, y1, x0, x1):
            block = self._read_chunk(cy, cx)
            if block is None:
                continue
            by0, by1, bx0, bx1 = self.chunk_bounds(cy, cx)
            sy0, sy1, sx0, sx1 = max(y0, by0), min(y1, by1), max(x0, bx0), min(x1, bx1)
            out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = block[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0]
        return out

    def _read_chunk(self, cy: int, cx: int) -> np.ndarray | None:
        path = self.chunk_path(cy, cx)
        try:
            block = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AnnotationError(path, f"cannot read label chunk ({exc})") from exc
        y0, y1, x0, x1 = self.chunk_bounds(cy, cx)
        if block.shape != (y1 - y0, x1 - x0) or block.dtype.kind not in "ui":
            raise AnnotationError(path, f"label chunk is {block.shape} {block.dtype}, expected {(y1 - y0, x1 - x0)}")
        return block

    # --- writing -------------------------------------------------------------------------------
    def write(self, y0: int, x0: int, labels: np.ndarray) -> list[tuple[int, int]]:
        """Write ``labels`` (h, w) with its top-left corner at (y0, x0): only the chunks it overlaps are
        rewritten, each atomically; returns those chunks. Values must fit the store's dtype."""
        labels = np.asarray(labels)
        h, w = labels.shape if labels.ndim == 2 else (-1, -1)
        if h < 0 or y0 < 0 or x0 < 0 or y0 + h > self.shape[0] or x0 + w > self.shape[1]:
            raise AnnotationError(self.folder, f"label write {labels.shape} at ({y0}, {x0}) does not fit the image "
                                               f"{self.shape[0]} x {self.shape[1]}")
        if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(self.dtype).max):
            raise AnnotationError(self.folder, f"label values {labels.min()}..{labels.max()} do not fit {self.dtype}")
        self.folder.mkdir(parents=True, exist_ok=True)
        written = []
        with self._lock:
            for cy, cx in self.chunks_in(y0, y0 + h, x0, x0 + w):
                by0, by1, bx0, bx1 = self.chunk_bounds(cy, cx)
                block = self._read_chunk(cy, cx)
                block = np.zeros((by1 - by0, bx1 - bx0), self.dtype) if block is None else block.astype(self.dtype)
                sy0, sy1, sx0, sx1 = max(y0, by0), min(y0 + h, by1), max(x0, bx0), min(x0 + w, bx1)
                block[sy0 - by0:sy1 - by0, sx0 - bx0:sx1 - bx0] = labels[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
                self._store_chunk(cy, cx, block)
                written.append((cy, cx))
            self._touched.update(written)
            self._save_index()
        return written

    def _store_chunk(self, cy: int, cx: int, block: np.ndarray) -> None:
        path, key = self.chunk_path(cy, cx), f"{cy}_{cx}"
        status = label_status(block)
        if status == "unlabelled":
            path.unlink(missing_ok=True)
            self._index.pop(key, None)
            return
        buffer = io.BytesIO()
        np.save(buffer, block, allow_pickle=False)
        with atomic_writer(path) as handle:
            handle.write(buffer.getbuffer())
        self._index[key] = _entry(block, path)

    # --- status --------------------------------------------------------------------------------
    def chunks_touched(self) -> list[tuple[int, int]]:
        """The chunks this object has written since it was made, sorted (what an autosave rewrote)."""
        with self._lock:
            return sorted(self._touched)

    def chunks_stored(self) -> list[tuple[int, int]]:
        """The chunks holding any label on disk, sorted."""
        if not self.folder.is_dir():
            return []
        keys = (name[:-4].split("_") for name in os.listdir(self.folder) if name.endswith(".npy") and "_" in name)
        return sorted((int(cy), int(cx)) for cy, cx in keys if cy.isdigit() and cx.isdigit())

    def status(self) -> str:
        """'unlabelled' | 'partial' | 'labelled' as core.annotations.label_status would say of the whole
        image; chunks whose file still matches the index are not read."""
        stored = self.chunks_stored()
        if not stored:
            return "unlabelled"
        if len(stored) < self.grid[0] * self.grid[1]:
            return "partial"
        with self._lock:
            statuses = [self._chunk_status(cy, cx) for cy, cx in stored]
        return "labelled" if all(s == "labelled" for s in statuses) else "partial"

    def chunk_counts(self) -> dict[tuple[int, int], np.ndarray]:
        """Pixels per label value (index = value) of every stored chunk, from the index where it is current:
        what a patch sampler weighs chunks by without reading them."""
        with self._lock:
            return {key: np.asarray(self._chunk_entry(*key)["counts"], np.int64) for key in self.chunks_stored()}

    def values_present(self) -> tuple[int, ...]:
        """The label values (> 0) held anywhere, ascending (core.annotations.classes_present of the whole
        image), from the index where it is current."""
        counts = list(self.chunk_counts().values())
        present = {value for c in counts for value in np.flatnonzero(c).tolist() if value > 0}
        return tuple(sorted(present))

    def _chunk_status(self, cy: int, cx: int) -> str:
        return self._chunk_entry(cy, cx)["status"]

    def _chunk_entry(self, cy: int, cx: int) -> dict:
        """The index entry of a stored chunk, made again from the chunk when its file changed."""
        path, key = self.chunk_path(cy, cx), f"{cy}_{cx}"
        entry = self._index.get(key)
        stat = path.stat()
        if entry and entry.get("mtime_ns") == stat.st_mtime_ns and entry.get("size") == stat.st_size \
                and "counts" in entry:
            return entry
        block = self._read_chunk(cy, cx)
        entry = _entry(np.zeros((1, 1), self.dtype) if block is None else block, path)
        self._index[key] = entry
        return entry

    # --- index ---------------------------------------------------------------------------------
    def _load_index(self) -> dict:
        path = self.folder / INDEX_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # no index, or a damaged one: it costs re-reading chunks, never labels
            return {}
        if data.get("shape") != list(self.shape) or data.get("chunk") != self.chunk:
            raise AnnotationError(path, f"chunked labels are {data.get('shape')} in chunks of {data.get('chunk')}, "
                                        f"expected {list(self.shape)} in chunks of {self.chunk}")
        if data.get("dtype") not in (None, self.dtype.name):
            raise AnnotationError(path, f"chunked labels are {data.get('dtype')}, expected {self.dtype.name}")
        return dict(data.get("chunks", {}))

    def _save_index(self) -> None:
        atomic_write_json(self.folder / INDEX_NAME, {
            "format": _FORMAT, "shape": list(self.shape), "chunk": self.chunk, "dtype": self.dtype.name,
            "chunks": self._index,
        }, indent=None)


def _entry(block: np.ndarray, path: Path) -> dict:
    """A chunk's index entry: label status, pixels per value, and the file's mtime and size it describes."""
    stat = path.stat()
    return {"status": label_status(block), "counts": np.bincount(block.ravel()).tolist(),
            "mtime_ns": stat.st_mtime_ns, "size": stat.st_size}


def stored_chunk(folder: Path) -> int | None:
    """The chunk side recorded in the folder's index, or None (no index, or a damaged one)."""
    try:
        return int(json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))["chunk"])
    except (OSError, ValueError, LookupError, TypeError):
        return None


def _stored_dtype(folder: Path) -> str | None:
    try:
        return json.loads((folder / INDEX_NAME).read_text(encoding="utf-8")).get("dtype")
    except (OSError, ValueError, AttributeError):
        return None
