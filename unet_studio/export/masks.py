"""Semantic masks (PNG/TIFF) and instance label TIFFs that napari and Fiji open as label layers."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import tifffile

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.export.errors import ExportError
from unet_studio.export.objects import as_instance_dtype, check_instances

PNG_SUFFIXES = (".png",)
TIFF_SUFFIXES = (".tif", ".tiff")


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a uint8/uint16 grey (H, W) or RGB (H, W, 3) array (RGB order, as displayed)."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise ValueError(f"PNG encoder refused an array of shape {array.shape} and dtype {array.dtype}")
    return encoded.tobytes()


def encode_label_tiff(labels: np.ndarray, compress: bool = False) -> bytes:
    """A plain single-page grey TIFF: the form napari and Fiji read straight into a label layer."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, labels, photometric="minisblack", compression="zlib" if compress else None,
                     metadata=None)
    return buffer.getvalue()


def _checked(path: Path, array: np.ndarray, name: str) -> np.ndarray:
    try:
        return check_instances(array, name)
    except ValueError as error:
        raise ExportError(path, str(error)) from error


def write_semantic_mask(path: str | Path, mask: np.ndarray) -> Path:
    """Write a conventional mask (0 background, 1..K classes) as PNG or TIFF, atomically.

    uint8 while K <= 255, else uint16 (PNG and TIFF both hold 16-bit grey).
    """
    path = Path(path)
    values = _checked(path, mask, "mask")
    top = int(values.max()) if values.size else 0
    if top > np.iinfo(np.uint16).max:
        raise ExportError(path, f"mask value {top} does not fit a 16-bit mask")
    values = values.astype(np.uint8 if top <= 255 else np.uint16)
    suffix = path.suffix.lower()
    if suffix in PNG_SUFFIXES:
        data = encode_png(values)
    elif suffix in TIFF_SUFFIXES:
        data = encode_label_tiff(values)
    else:
        raise ExportError(path, f"unknown mask format {path.suffix!r} (use .png, .tif or .tiff)")
    atomic_write_bytes(path, data)
    return path


def write_instances(path: str | Path, labels: np.ndarray, compress: bool = False) -> Path:
    """Write an instance label image (0 background, 1..N) as TIFF uint16, or uint32 past 65535, atomically."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise ExportError(path, f"instance labels are written as TIFF, not {path.suffix!r}")
    values = _checked(path, labels, "instance labels")
    if values.size and int(values.max()) > np.iinfo(np.uint32).max:
        raise ExportError(path, "instance label does not fit 32 bits")
    atomic_write_bytes(path, encode_label_tiff(as_instance_dtype(values), compress=compress))
    return path
