"""The Trainer's previews: the probabilities of one image with the weights in memory now, whole or a region.

`PreviewMixin` holds the preview image (set from any thread) and predicts it on the training thread between
events. The class it is mixed into supplies `served_model()`, `_tiling()`, `precision`, `device` and
`border_class` (training/trainer.py).
"""

from __future__ import annotations

import threading

import numpy as np

from unet_studio.inference.config import PredictConfig
from unet_studio.inference.postprocess import fold_border
from unet_studio.inference.tiling import predict_probabilities
from unet_studio.training.events import PreviewReady
from unet_studio.training.preview_regions import Region, clip_region, context_crop

PREVIEW_TILE = 512  # previews tile larger than validation: a 512 x 512 image in one tile, not nine overlapping


class PreviewMixin:
    """set_preview_image (thread-safe), predict and preview (on the training thread, between events)."""

    def _init_preview(self, image: np.ndarray | None) -> None:
        self._preview_lock = threading.Lock()
        self._preview: tuple[int, np.ndarray] | None = None
        if image is not None:
            self.set_preview_image(image)

    def set_preview_image(self, image: np.ndarray, index: int = 0) -> None:
        """Image float32 (C,H,W) (normalised) whose probabilities are sent after each epoch; thread-safe."""
        copied = np.array(image, dtype=np.float32, copy=True)
        with self._preview_lock:
            self._preview = (int(index), copied)

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Probabilities (K, H, W) of a normalised image (C, H, W) with the weights in memory now, in tiles of
        at least PREVIEW_TILE; on the training thread between events only (as `preview`)."""
        tile, overlap = self._tiling()
        config = PredictConfig(max(tile, PREVIEW_TILE), overlap, precision=self.precision.name)
        probabilities = predict_probabilities(self.served_model(), image, config, device=self.device)
        return fold_border(probabilities) if self.border_class is not None else probabilities

    def preview(self, epoch: int, step: int = 0, region: Region | None = None) -> PreviewReady | None:
        """The preview image predicted with the weights in memory now (made at step `step`), or None without
        one; only `region` (y0, x0, y1, x1) of it when given, from a crop with the tiles' overlap around it
        (preview_regions.py). Call it on the training thread between events (iter_fit is suspended at a
        yield): the GUI previews mid-epoch."""
        with self._preview_lock:
            preview = self._preview
        if preview is None:
            return None
        index, image = preview
        region = clip_region(region, image.shape[1:]) if region is not None else None
        if region is None:
            return PreviewReady(epoch, index, self.predict(image), step)
        (cy0, cx0, cy1, cx1), (y0, x0, y1, x1) = context_crop(region, image.shape[1:], self._tiling()[1])
        probabilities = self.predict(np.ascontiguousarray(image[:, cy0:cy1, cx0:cx1]))
        return PreviewReady(epoch, index, np.ascontiguousarray(probabilities[:, y0:y1, x0:x1]), step, region)
