"""AnnotationWriter: encodes and writes annotation files in one background thread (autosave off the GUI thread).

Encoding an 8192 x 8192 label image as PNG takes ~220 ms and the atomic write fsyncs, so the GUI thread
only copies the changed rectangle (`submit`); the writer keeps its own full copy of the image's labels
(`begin`), applies the queued rectangles to it in order, and writes it once however many saves of that
image were queued meanwhile (coalescing). Results come back through `results()` (drained on the GUI thread,
poked by the `written` signal); `flush()` blocks until every queued save is on disk. The thread starts
with the first save and ends after IDLE_EXIT_S without one.
An image's instance layer (object ids) travels the same way: its changed rectangles come with the labels'
in the same save, and a save that changed ids, or labels under an object, rewrites it after the labels
(atomically, ids kept only on object-class pixels, so the two files agree; no object left removes the file).
A plane of a stack is written into the stack's multi-page file (core.plane_labels: the other planes as on
disk, read on this thread), and its result carries how many planes hold labels.
Only numpy copies cross threads; the writer never touches the project (its manifest is the GUI thread's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from unet_studio.core.annotations import BACKGROUND, classes_present
from unet_studio.core.errors import StudioError
from unet_studio.core.instance_labels import write_instances
from unet_studio.core.plane_labels import save_plane
from unet_studio.core.undo_patch import BBox
from unet_studio.gui.background_writer import BackgroundWriter

IDLE_EXIT_S = 5.0  # the thread ends after this long with nothing to write; the next save starts a new one

@dataclass(frozen=True)
class LabelRegion:
    """New values of the rectangle rows y0:y1, columns x0:x1 of an image's labels."""

    y0: int
    x0: int
    values: np.ndarray


class ChangedRect:
    """The rectangle of an array changed since it was last taken: what the next autosave copies."""

    def __init__(self):
        self.bbox: BBox | None = None

    def note(self, bbox: BBox | None, shape: tuple[int, int]) -> None:
        """Add `bbox` (None: the whole array of `shape`), clipped to the array."""
        h, w = shape
        y0, x0, y1, x1 = bbox if bbox is not None else (0, 0, h, w)
        if self.bbox is not None:
            cy0, cx0, cy1, cx1 = self.bbox
            y0, x0, y1, x1 = min(y0, cy0), min(x0, cx0), max(y1, cy1), max(x1, cx1)
        self.bbox = (max(0, y0), max(0, x0), min(h, y1), min(w, x1))

    def take(self, array: np.ndarray) -> list[LabelRegion]:
        """A copy of the changed rectangle of `array` ([] if nothing changed); starts over."""
        if self.bbox is None:
            return []
        y0, x0, y1, x1 = self.bbox
        self.bbox = None
        return [LabelRegion(y0, x0, array[y0:y1, x0:x1].copy())]


@dataclass(frozen=True)
class WriteResult:
    """One finished write of the saves up to number `seq`: the label status and values of what was written,
    or the one-line reason it failed; `labelled_planes` (a stack's): how many of its planes hold labels."""

    image_id: str
    seq: int
    status: str | None = None
    values: tuple[int, ...] = ()
    error: str | None = None
    labelled_planes: int | None = None


class AnnotationWriter(BackgroundWriter):
    """One writer thread for the document's annotation files."""

    def __init__(self, parent: QObject | None = None):
        super().__init__("annotation-writer", IDLE_EXIT_S, parent)
        self._labels: dict[str, tuple[Path, np.ndarray, int, int]] = {}  # stem, labels, plane, planes
        self._ids: dict[str, list] = {}  # image id -> [instance file, ids copy (None: no object yet), unwritten]
        self._queue: dict[str, tuple[int, list[LabelRegion], list[LabelRegion]]] = {}

    def begin(self, image_id: str, stem: Path, labels: np.ndarray, ids_path: Path | None = None,
              ids: np.ndarray | None = None, plane: int = 0, n_planes: int = 1) -> None:
        """Hand over private copies of an image plane's labels (and instance layer, if it has one) as they are
        on disk now; labels go to `stem`.png|tif (plane `plane` of the stack's `n_planes`), ids to `ids_path`.
        Call after a flush when the shown plane changes."""
        with self._cond:
            self._labels[image_id] = (Path(stem), labels, plane, n_planes)
            self._ids[image_id] = [ids_path, ids, False]

    def forget(self, image_id: str) -> None:
        """Drop the writer's copies (after a flush: the image is no longer shown)."""
        with self._cond:
            self._labels.pop(image_id, None)
            self._ids.pop(image_id, None)

    def submit(self, image_id: str, regions: list[LabelRegion], seq: int = 0,
               id_regions: list[LabelRegion] = ()) -> None:
        """Queue save number `seq` of `image_id` with these changed rectangles of its labels and object ids
        (copies the caller gave up)."""
        with self._cond:
            if image_id not in self._labels:
                raise StudioError(image_id, "autosave: labels were never handed to the writer")
            _, queued, queued_ids = self._queue.get(image_id, (seq, [], []))
            self._queue[image_id] = (seq, queued + list(regions), queued_ids + list(id_regions))
            self._wake()

    def _has_work(self) -> bool:
        return bool(self._queue)

    def _take(self):
        image_id = next(iter(self._queue))
        seq, regions, id_regions = self._queue.pop(image_id)
        return image_id, seq, regions, id_regions, self._labels[image_id], self._ids[image_id]

    def _work(self, job) -> WriteResult:
        image_id, seq, regions, id_regions, (stem, labels, plane, n_planes), ids = job
        result = self._write(image_id, seq, stem, labels, regions, plane, n_planes)
        if ids[0] is not None:
            result = self._write_ids(result, labels, ids, id_regions, regions)
        return result

    @staticmethod
    def _write(image_id: str, seq: int, stem: Path, labels: np.ndarray, regions: list[LabelRegion],
               plane: int = 0, n_planes: int = 1) -> WriteResult:
        for region in regions:
            h, w = region.values.shape
            labels[region.y0:region.y0 + h, region.x0:region.x0 + w] = region.values
        try:
            stem.parent.mkdir(exist_ok=True)
            _, status, labelled = save_plane(stem, labels, plane, n_planes)
        except StudioError as error:
            return WriteResult(image_id, seq, error=str(error))
        except OSError as error:
            return WriteResult(image_id, seq, error=f"{stem}: cannot save annotation ({error.strerror or error})")
        return WriteResult(image_id, seq, status=status, values=classes_present(labels), labelled_planes=labelled)

    @staticmethod
    def _write_ids(result: WriteResult, labels: np.ndarray, entry: list, regions: list[LabelRegion],
                   label_regions: list[LabelRegion]) -> WriteResult:
        """Apply the id rectangles to the writer's copy (made on the first, widened past uint16 when an id
        needs it) and, if the labels were written, write the layer, ids kept on object-class pixels only.
        A save whose label changes lie outside every object and that changed no id leaves the file as it is."""
        path, ids, unwritten = entry
        for region in regions:
            if ids is None:
                ids = np.zeros(labels.shape, region.values.dtype)
            elif region.values.dtype.itemsize > ids.dtype.itemsize:
                ids = ids.astype(region.values.dtype)
            h, w = region.values.shape
            ids[region.y0:region.y0 + h, region.x0:region.x0 + w] = region.values
        if ids is None:
            return result
        touched = bool(regions) or any(ids[r.y0:r.y0 + r.values.shape[0], r.x0:r.x0 + r.values.shape[1]].any()
                                       for r in label_regions)
        entry[1], entry[2] = ids, unwritten or touched  # written at the next save if this one fails
        if result.error is not None or not entry[2]:
            return result
        try:
            path.parent.mkdir(exist_ok=True)
            write_instances(path, np.where(labels > BACKGROUND, ids, 0).astype(ids.dtype, copy=False))
        except StudioError as error:
            return replace(result, status=None, values=(), error=str(error))
        except OSError as error:
            return replace(result, status=None, values=(),
                           error=f"{path}: cannot save the object layer ({error.strerror or error})")
        entry[2] = False
        return result
