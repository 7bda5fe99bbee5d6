"""The instance layer of a project image: which object each pixel belongs to (0 = no object).

The class annotation stays the semantic truth (object pixels keep their class value there); this layer only
names objects, so semantic training works without it. Stored as ``instances/<image id>.tif``: uint16 when
every id fits, else uint32, zlib-compressed, written atomically. An all-zero layer is stored as no file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import tifffile

from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.errors import AnnotationError

INSTANCE_FOLDER = "instances"
INSTANCE_SUFFIX = ".tif"


def read_instances(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read an instance layer as uint32 (H, W), checking it fits an image of ``shape``."""
    source = Path(path)
    try:
        with tifffile.TiffFile(source) as tif:
            if len(tif.pages) != 1:
                raise AnnotationError(source, f"instance layer has {len(tif.pages)} planes; expected one")
            ids = tif.pages[0].asarray()
    except AnnotationError:
        raise
    except FileNotFoundError as exc:
        raise AnnotationError(source, "instance layer not found") from exc
    except (OSError, ValueError, tifffile.TiffFileError) as exc:
        raise AnnotationError(source, f"cannot read instance layer ({exc})") from exc
    if ids.ndim != 2:
        raise AnnotationError(source, f"instance layer has shape {ids.shape}; expected one (H, W) plane")
    if ids.dtype.kind not in "ui":
        raise AnnotationError(source, f"instance layer dtype is {ids.dtype}; expected an unsigned integer type")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) > np.iinfo(np.uint32).max):
        raise AnnotationError(source, f"instance ids must be within 0..{np.iinfo(np.uint32).max}")
    if shape is not None and ids.shape != tuple(shape)[:2]:
        raise AnnotationError(source, f"instance layer is {ids.shape[0]} x {ids.shape[1]} but the image is "
                                      f"{shape[0]} x {shape[1]} (height x width)")
    return ids.astype(np.uint32, copy=False)


def encode_instances(ids: np.ndarray) -> bytes:
    """TIFF bytes of an instance layer: uint16 when the largest id fits, else uint32; zlib."""
    top = int(ids.max()) if ids.size else 0
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, ids.astype(np.uint16 if top <= 65535 else np.uint32, copy=False),
                     compression="zlib", photometric="minisblack")
    return buffer.getvalue()


def check_instance_ids(path: str | os.PathLike, ids: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """``ids`` as a 2-D non-negative integer array within uint32 (of ``shape`` if given), or an
    AnnotationError naming ``path``."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.dtype.kind not in "ui" or ids.size == 0:
        raise AnnotationError(path, f"instance ids must be a 2-D integer array, got {ids.dtype} {ids.shape}")
    if shape is not None and ids.shape != tuple(shape)[:2]:
        raise AnnotationError(path, f"instance layer is {ids.shape[0]} x {ids.shape[1]} but the image is "
                                    f"{shape[0]} x {shape[1]} (height x width)")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high > np.iinfo(np.uint32).max:
        raise AnnotationError(path, f"instance ids must be within 0..{np.iinfo(np.uint32).max}, got {low}..{high}")
    return ids


def write_instances(path: str | os.PathLike, ids: np.ndarray, shape: tuple[int, int] | None = None) -> Path:
    """Write the layer atomically; an all-zero layer removes the file instead (no object, no file)."""
    target = Path(path)
    ids = check_instance_ids(target, ids, shape)
    if not ids.any():
        target.unlink(missing_ok=True)
        return target
    atomic_write_bytes(target, encode_instances(ids))
    return target
