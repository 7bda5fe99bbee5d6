"""VolumePredictor: a trained 3-D U-Net with its classes, normalisation and threshold, applied to raw
(Z, H, W[, C]) volumes: 3-D overlap tiles, then the mask, and 3-D instances if asked for."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from unet_studio.core.errors import ModelFileError, StudioError
from unet_studio.data.volume import normalize_volume
from unet_studio.inference.instances3d import volume_instances
from unet_studio.inference.postprocess import SEED_HEIGHT, probabilities_to_mask
from unet_studio.inference.tiling3d import (
    DEFAULT_OVERLAP_3D, DEFAULT_TILE_3D, Progress, Shape3, VolumeTiles, predict_volume_probabilities,
)
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.config import VOLUME_ARCHS
from unet_studio.runtime.device import select_device


@dataclass(frozen=True)
class VolumePrediction:
    """mask (Z, H, W) (0 background, 1..K classes), probabilities float32 (K + 1, Z, H, W), instances or None."""

    mask: np.ndarray
    probabilities: np.ndarray
    instances: np.ndarray | None


class VolumePredictor:
    """Runs a 3-D network over whole volumes; ``normalization`` is the checkpoint's (per-channel percentiles
    of the whole volume, as in training), ``threshold`` (two classes) replaces argmax by p(object) >= it."""

    def __init__(self, model: nn.Module, classes: list[dict[str, Any]], normalization: dict[str, Any],
                 threshold: float | None = None, device: str | torch.device = "auto",
                 tile: Shape3 = DEFAULT_TILE_3D, overlap: Shape3 = DEFAULT_OVERLAP_3D, source: str = "model"):
        if getattr(getattr(model, "config", None), "arch", None) not in VOLUME_ARCHS:
            raise ModelFileError(source, "not a 3-D model")
        self.source, self.classes, self.threshold = source, list(classes), threshold
        self.normalization = dict(normalization)
        device = select_device(device).device if isinstance(device, str) else torch.device(device)
        self.tiles = VolumeTiles(model, device)
        self.tile, self.overlap = tile, overlap
        self.in_channels = int(model.config.in_channels)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", **options: Any) -> VolumePredictor:
        """Load a 3-D checkpoint (models.checkpoint.load_checkpoint) and wrap its network."""
        checkpoint = load_checkpoint(path)
        return cls(checkpoint.build_model(), checkpoint.classes, checkpoint.normalization, checkpoint.threshold,
                   device, source=str(path), **options)

    def probabilities(self, pixels: np.ndarray, source: str = "volume", stop: threading.Event | None = None,
                      progress: Progress | None = None) -> np.ndarray | None:
        """float32 (K + 1, Z, H, W) of a raw (Z, H, W) or (Z, H, W, C) volume; None when stopped."""
        pixels = self._checked(pixels, source)
        image = normalize_volume(pixels, self.normalization.get("low", 0.5), self.normalization.get("high", 99.5))
        return predict_volume_probabilities(self.tiles, image, self.tile, self.overlap, stop, progress)

    def predict(self, pixels: np.ndarray, instances: bool = False, min_size: int = 0, fill_holes: bool = False,
                voxel_size_um: Sequence[float] | None = None, seed_height: float = SEED_HEIGHT,
                split_touching: bool = True, source: str = "volume", stop: threading.Event | None = None,
                progress: Progress | None = None) -> VolumePrediction | None:
        """Mask (and with `instances` 3-D instance labels) of a raw volume; `min_size` in voxels."""
        probabilities = self.probabilities(pixels, source, stop, progress)
        if probabilities is None:
            return None
        mask = probabilities_to_mask(probabilities, self.threshold, min_size, fill_holes)
        labels = None
        if instances:
            labels = volume_instances(mask, probabilities, voxel_size_um, seed_height, split_touching)
        return VolumePrediction(mask, probabilities, labels)

    def _checked(self, pixels: np.ndarray, source: str) -> np.ndarray:
        pixels = np.asarray(pixels)
        if pixels.ndim == 3:
            pixels = pixels[..., None]
        if pixels.ndim != 4 or min(pixels.shape) < 1:
            raise StudioError(source, f"expected a (Z, H, W) or (Z, H, W, C) volume, got shape {pixels.shape}")
        if pixels.shape[3] != self.in_channels:
            raise StudioError(source, f"volume has {pixels.shape[3]} channel(s) but the model "
                                      f"{Path(self.source).name} expects {self.in_channels}")
        return pixels
