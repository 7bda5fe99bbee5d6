"""BigImageDocument: the annotation document with its branch for images too big to hold in memory.

An image whose labels live in chunks (Project.is_big_image: an OME-Zarr folder, or more pixels than
core.image_headers.MAX_PIXELS, e.g. a big tiled / pyramidal TIFF) opens lazily:
`big` holds the MultiscaleImage (pixels are read tile by tile by the canvas), the project's ChunkedLabels
store and a ChunkedLabelBuffer over it; `image` and `labels` stay None, so no whole-image array exists.
Tools paint through `big.painter` (windows of the buffer), undo steps are the same sparse patches as for
small images (applied chunk by chunk), and autosave hands copies of the touched chunks only to the
ChunkSaver thread, which writes each chunk atomically. Small images take the parent's path unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject

from unet_studio.core.errors import StudioError
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.tiled_autosave import ChunkSaver
from unet_studio.gui.tiled_label_store import ChunkedLabelBuffer
from unet_studio.gui.tiled_painting import WindowPainter
from unet_studio.io.ome_zarr import open_multiscale


def buffer_for(store) -> ChunkedLabelBuffer:
    """A ChunkedLabelBuffer over a ChunkedLabels store, with the store's shape, chunk side and dtype."""
    return ChunkedLabelBuffer(store, store.shape, store.chunk, store.dtype)


@dataclass
class BigImage:
    """The current big image: its lazy source, label store and the GUI's chunks of it."""

    source: object
    store: object
    buffer: ChunkedLabelBuffer

    @property
    def painter(self) -> WindowPainter:
        return WindowPainter(self.buffer)

    @property
    def scales(self) -> tuple[float, ...]:
        return tuple(self.source.level_scale(i) for i in range(len(self.source.levels)))


class BigImageDocument(AnnotationDocument):
    """AnnotationDocument that opens big images lazily (see the module text)."""

    def __init__(self, parent: QObject | None = None, opener=open_multiscale):
        super().__init__(parent)
        self.big: BigImage | None = None
        self.opener = opener  # path -> MultiscaleImage
        self.saver = ChunkSaver(self)
        self.saver.written.connect(self._collect_chunk_saves)

    def is_big(self, image_id: str) -> bool:
        """Whether an image opens lazily: a multiscale file, or more pixels than a whole-image read allows."""
        if self.record(image_id) is None:
            return False
        try:
            return self.project.is_big_image(image_id)
        except StudioError:  # no readable size: the ordinary path says why
            return False

    def set_image(self, image_id: str, plane: int = 0) -> bool:
        if not self.is_big(image_id):
            return super().set_image(image_id, plane)
        if image_id == self.image_id and self.big is not None:
            return True
        try:
            source = self.opener(self.project.image_path(image_id))
            store = self.project.chunked_labels(image_id)
        except StudioError as exc:
            self.error_raised.emit(str(exc))
            if image_id != self.image_id:
                self._show_unreadable(image_id, str(exc))
            return False
        if not self.close_image():
            return False
        self.unreadable, self.image_id = None, image_id
        self.big = BigImage(source, store, buffer_for(store))
        self.undo_group.setActiveStack(self._stack(image_id))
        self.image_changed.emit(image_id)  # before pixels_changed: the window clears a small image on it
        self.pixels_changed.emit()
        self.annotation_changed.emit(None)
        self.dirty_changed.emit(self.is_dirty)
        return True

    def close_image(self) -> bool:
        if self.big is None:
            return super().close_image()
        self.image_about_to_change.emit()
        if not self.save_now():
            return False
        big, self.image_id, self.big = self.big, None, None
        self.undo_group.setActiveStack(None)
        self.image_changed.emit("")  # the canvas stops its tile loader here
        big.source.close()
        return True

    def apply_patch(self, image_id: str, patch, new: bool, ids=None, plane: int = 0) -> None:
        if self.big is not None and image_id == self.image_id:
            if patch is not None:
                self.big.buffer.apply(patch, new)
                self.labels_edited(patch.bbox)
                self._autosave.start()
            return
        if patch is None or not self.is_big(image_id):
            super().apply_patch(image_id, patch, new, ids, plane)
            return
        try:  # a big image not shown: its chunks on disk
            buffer = buffer_for(self.project.chunked_labels(image_id))
            buffer.apply(patch, new)
            for (cy, cx), array in buffer.take_dirty().items():
                buffer.store.write(cy * buffer.chunk, cx * buffer.chunk, array)
            self._record_status(image_id, buffer.store.status())
        except StudioError as exc:
            self.error_raised.emit(str(exc))
        self.records_changed.emit()

    def save_in_background(self) -> None:
        if self.big is None:
            super().save_in_background()
            return
        self._autosave.stop()
        if not self.is_dirty:
            return
        buffer = self.big.buffer
        self.saver.submit(self.image_id, self.big.store, buffer.chunk, buffer.take_dirty())
        self._dirty = False
        self._stack(self.image_id).setClean()
        self._emit_dirty()

    def save_now(self) -> bool:
        if self.big is None:
            return super().save_now()
        self._autosave.stop()
        self.save_in_background()
        if not self.saver.flush():
            self.error_raised.emit(f"{self.image_id}: saving the label chunks took over a minute")
            return False
        return self._collect_chunk_saves()

    def _collect_chunk_saves(self) -> bool:
        """Apply finished chunk saves on the GUI thread: statuses, failures (chunks dirty again)."""
        ok, changed = True, False
        for result in self.saver.results():
            buffer = self.big.buffer if self.big is not None and result.image_id == self.image_id else None
            if result.error is not None:
                ok = False
                self.error_raised.emit(result.error)
                if buffer is not None:
                    buffer.give_back(result.keys)
                    self._set_dirty(True)
                continue
            if buffer is not None:
                buffer.saved(result.keys)
            changed = self._record_status(result.image_id, result.status) or changed
        if changed:
            self.records_changed.emit()
        return ok

    def label_values(self) -> tuple[int, ...]:
        """The parent's answer for small images; a big image's labels are never scanned whole: ()."""
        return () if self.big is not None else super().label_values()
