"""Chunked labels of project images too big for one annotation file: a mixin of core.project.Project.

The store is ``annotations/<image_id>.chunks/`` (core.chunked_labels). The host class provides ``folder``,
``image``, ``image_path``, ``_replace_image`` and ``_subfolder``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from unet_studio.core.chunked_labels import CHUNKED_SUFFIX, ChunkedLabels
from unet_studio.core.errors import AnnotationError
from unet_studio.core.image_headers import MAX_PIXELS
from unet_studio.core.lazy_images import lazy_image_size


class ProjectChunkedLabels:
    """``chunked_labels(image_id)`` and the status kept in step with it."""

    def image_size(self, image_id: str) -> tuple[int, int]:
        """(H, W) of an image from its record, else from its header (no size limit)."""
        record = self.image(image_id)
        if record.height and record.width:
            return record.height, record.width
        size = lazy_image_size(self.image_path(image_id))
        if size is None:
            raise AnnotationError(self.image_path(image_id), "cannot read the image's size")
        return size

    def is_big_image(self, image_id: str) -> bool:
        """True when the image is over MAX_PIXELS or an OME-Zarr folder: its labels live in chunks."""
        height, width = self.image_size(image_id)
        return height * width > MAX_PIXELS or self.image_path(image_id).is_dir()

    def chunked_labels_folder(self, image_id: str) -> Path:
        self.image(image_id)
        return self.folder / "annotations" / f"{image_id}{CHUNKED_SUFFIX}"

    def chunked_labels(self, image_id: str, chunk: int = 1024) -> ChunkedLabels:
        """The image's chunked label store (empty until the first write; an existing one keeps its chunk)."""
        folder = self.chunked_labels_folder(image_id)
        self._subfolder("annotations")
        return ChunkedLabels.existing(folder, self.image_size(image_id), chunk)

    def refresh_chunked_status(self, image_id: str, labels: ChunkedLabels | None = None) -> str:
        """Set the image's status from its chunked labels (a 'reviewed' image stays so while labelled)."""
        status = (labels or self.chunked_labels(image_id)).status()
        record = self.image(image_id)
        if record.status != status and not (record.status == "reviewed" and status == "labelled") \
                and not (record.status == "predicted" and status == "unlabelled"):
            self._replace_image(replace(record, status=status))
        return status

