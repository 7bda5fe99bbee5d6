"""Volumes: multi-page TIFFs read as (Z, H, W[, C]), their label volumes, and normalised training items.

An image volume is the first series of a TIFF: Y and X are the plane, a C or S axis (if any) the channels,
every other axis (Z, T, ...) is flattened into planes in file order. A label volume has the same (Z, H, W)
and holds 2-D annotation values per voxel: 0 unlabelled (planes nobody labelled are all 0), 1 background,
2.. object classes. Voxel sizes (z, y, x) in micrometres come from ImageJ or OME metadata when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from unet_studio.core.errors import ImageReadError, StudioError, TrainingError
from unet_studio.core.images import image_info
from unet_studio.core.normalize import normalize_with_range, percentile_range

VOLUME_SUFFIXES = (".tif", ".tiff")
CHANNEL_AXES = "CS"
_UM_PER_UNIT = {"um": 1.0, "µm": 1.0, "micron": 1.0, "microns": 1.0, "nm": 1e-3, "mm": 1e3}


@dataclass(frozen=True)
class Volume:
    """One volume file: ``pixels`` (Z, H, W, C) in the file's dtype, ``voxel_size_um`` (z, y, x) or None."""

    path: Path
    pixels: np.ndarray
    voxel_size_um: tuple[float, float, float] | None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(Z, H, W)."""
        return tuple(self.pixels.shape[:3])  # type: ignore[return-value]


@dataclass(frozen=True)
class VolumeItem:
    """A training volume: float32 (C, Z, H, W) normalised pixels and its int64 (Z, H, W) target in -1..K
    (-1 unlabelled). ``instances`` is always None (the Trainer's item interface)."""

    image: np.ndarray
    target: np.ndarray
    name: str = "volume"
    instances: None = None

    def __post_init__(self) -> None:
        if self.image.ndim != 4:
            raise TrainingError(self.name, f"volume must be (C, Z, H, W), got shape {self.image.shape}")
        if self.target.shape != self.image.shape[1:]:
            raise TrainingError(self.name, f"label volume shape {self.target.shape} does not match the volume "
                                           f"{self.image.shape[1:]}")


def list_volumes(folder: str | Path) -> list[Path]:
    """The TIFF files of a folder, sorted by name (hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StudioError(folder, "not a folder" if folder.exists() else "folder not found")
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in VOLUME_SUFFIXES and p.is_file() and not p.name.startswith("."))


def read_volume(path: str | Path) -> Volume:
    """The first TIFF series as (Z, H, W, C); ImageReadError naming the file when it cannot be read."""
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            pixels, axes = series.asarray(), series.axes
            z_size = _z_spacing_um(tif)
    except (OSError, ValueError, IndexError, KeyError, tifffile.TiffFileError) as error:
        raise ImageReadError(path, f"not a readable TIFF volume ({type(error).__name__}: {error})") from error
    pixels = _as_zyxc(pixels, axes, path)
    xy_size = image_info(path).pixel_size_um
    voxel = (z_size, xy_size, xy_size) if z_size and xy_size else None
    return Volume(path, pixels, voxel)


def _as_zyxc(pixels: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """Reorder a series to (Z, H, W, C): planes first (every axis but Y, X, C, S, flattened), channels last."""
    if "Y" not in axes or "X" not in axes or len(axes) != pixels.ndim:
        raise ImageReadError(path, f"TIFF series axes {axes!r} have no Y and X plane")
    channel = [i for i, a in enumerate(axes) if a in CHANNEL_AXES]
    planes = [i for i, a in enumerate(axes) if a not in "YX" + CHANNEL_AXES]
    order = planes + [axes.index("Y"), axes.index("X")] + channel
    arranged = np.transpose(pixels, order)
    height, width = arranged.shape[len(planes)], arranged.shape[len(planes) + 1]
    channels = int(np.prod([pixels.shape[i] for i in channel])) if channel else 1
    return np.ascontiguousarray(arranged.reshape(-1, height, width, channels))


def _z_spacing_um(tif: tifffile.TiffFile) -> float | None:
    """Plane spacing in µm from ImageJ 'spacing' (in its 'unit') or OME PhysicalSizeZ; None when unknown."""
    metadata = tif.imagej_metadata if tif.is_imagej else None
    if metadata and metadata.get("spacing"):
        factor = _UM_PER_UNIT.get(str(metadata.get("unit", "um")).strip().lower().replace("\\u00b5", "µ"))
        value = float(metadata["spacing"])
        return value * factor if factor and value > 0 else None
    if tif.is_ome and tif.ome_metadata and 'PhysicalSizeZ="' in tif.ome_metadata:
        text = tif.ome_metadata.split('PhysicalSizeZ="', 1)[1].split('"', 1)[0]
        try:
            return float(text) if float(text) > 0 else None
        except ValueError:
            return None
    return None


def read_label_volume(path: str | Path, shape: tuple[int, int, int]) -> np.ndarray:
    """A label volume (Z, H, W) uint8 of the given shape; one-line errors naming the file for a wrong shape,
    values that are not class labels, or no labelled voxel at all."""
    path = Path(path)
    labels = read_volume(path).pixels
    if labels.shape[3] != 1:
        raise ImageReadError(path, f"label volume has {labels.shape[3]} channels; labels need one")
    labels = labels[..., 0]
    if labels.shape != tuple(shape):
        raise ImageReadError(path, f"label volume shape {labels.shape} (Z, H, W) does not match the image "
                                   f"volume {tuple(shape)}")
    if labels.dtype.kind not in "ub" or int(labels.max(initial=0)) > 255:
        raise ImageReadError(path, f"labels must be unsigned 8-bit class values (0 unlabelled, 1 background, "
                                   f"2.. classes), got {labels.dtype} up to {labels.max(initial=0)}")
    if not labels.any():
        raise ImageReadError(path, "no labelled voxel (every value is 0 = unlabelled)")
    return labels.astype(np.uint8)


def normalize_volume(pixels: np.ndarray, low: float = 0.5, high: float = 99.5,
                     lo_hi: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """float32 (C, Z, H, W) from raw (Z, H, W, C): per-channel percentiles over the whole volume (as 2-D
    images use per image), clipped as core.normalize does. `lo_hi` gives the ranges instead."""
    depth, height, width, channels = pixels.shape
    flat = pixels.reshape(depth * height, width, channels)
    lo, hi = lo_hi if lo_hi is not None else percentile_range(flat, low, high)
    return normalize_with_range(flat, lo, hi).reshape(channels, depth, height, width)


def labelled_planes(labels: np.ndarray) -> list[int]:
    """Indices of the planes of a (Z, H, W) label volume that hold any label."""
    return np.flatnonzero(labels.reshape(labels.shape[0], -1).any(axis=1)).tolist()


def read_volume_item(image_path: str | Path, label_path: str | Path, normalization: dict) -> VolumeItem:
    """A VolumeItem from an image volume and its label volume (annotation values: target = label - 1)."""
    volume = read_volume(image_path)
    labels = read_label_volume(label_path, volume.shape)
    image = normalize_volume(volume.pixels, normalization.get("low", 0.5), normalization.get("high", 99.5))
    return VolumeItem(image, labels.astype(np.int64) - 1, name=str(image_path))
