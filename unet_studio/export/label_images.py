"""Reading existing label images (PNG/TIFF): masks and instance labels made elsewhere or by predict."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tifffile

from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.errors import AnnotationError

LABEL_SUFFIXES = (".png", ".tif", ".tiff")


def _read_pixels(path: Path) -> np.ndarray:
    if path.suffix.lower() in (".tif", ".tiff"):
        try:
            return tifffile.imread(path, key=0)
        except (ValueError, OSError, tifffile.TiffFileError) as error:
            raise AnnotationError(path, f"cannot read label TIFF ({type(error).__name__})") from error
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise AnnotationError(path, "cannot read label image (not a PNG, or damaged)")
    if pixels.ndim == 3:
        pixels = pixels[..., :3][..., ::-1]
    return pixels


def read_label_image(path: str | Path) -> np.ndarray:
    """A 2-D integer label image from PNG or TIFF.

    Grey images are taken as they are; RGB(A) images only when every channel is equal (a grey mask saved
    as colour); float images only when all values are whole numbers.
    """
    path = Path(path)
    if path.suffix.lower() not in LABEL_SUFFIXES:
        raise AnnotationError(path, f"label images are PNG or TIFF, not {path.suffix!r}")
    if not path.is_file():
        raise AnnotationError(path, "label image not found")
    pixels = np.squeeze(_read_pixels(path))
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        if not (np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])):
            raise AnnotationError(path, "is a colour image, not a label image (channels differ)")
        pixels = pixels[..., 0]
    if pixels.ndim != 2:
        raise AnnotationError(path, f"label image must be 2-D, got shape {pixels.shape}")
    if pixels.dtype == bool:
        return pixels.astype(np.uint8)
    if not np.issubdtype(pixels.dtype, np.integer):
        if not (np.all(np.isfinite(pixels)) and np.array_equal(pixels, np.round(pixels))):
            raise AnnotationError(path, f"label image holds fractional values (dtype {pixels.dtype})")
        pixels = pixels.astype(np.int64)
    if pixels.size and pixels.min() < 0:
        raise AnnotationError(path, "label image holds negative values")
    return pixels


def import_label_image(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A conventional mask file (0 background, 1..K) -> an annotation (0 unlabelled, 1 background, 2..)."""
    path = Path(path)
    mask = read_label_image(path)
    if mask.shape != tuple(shape[:2]):
        raise AnnotationError(path, f"label image shape {mask.shape} differs from the image's {tuple(shape[:2])}")
    if int(mask.max()) >= np.iinfo(np.uint16).max:
        raise AnnotationError(path, f"mask value {int(mask.max())} is too large for an annotation class")
    return mask_to_annotation(mask)
