"""Reading existing label images (PNG/TIFF): masks and instance labels made elsewhere or by predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unet_studio.core.annotations import mask_to_annotation
from unet_studio.core.errors import AnnotationError
from unet_studio.core.images import file_stem, read_image

LABEL_SUFFIXES = (".png", ".tif", ".tiff")


def find_label_file(labels_dir: Path, image: str | Path, suffixes: tuple[str, ...] = LABEL_SUFFIXES) -> Path | None:
    """The file in `labels_dir` named like `image` (by :func:`file_stem`) with one of `suffixes`, if any."""
    stem = file_stem(image)
    for suffix in suffixes:
        candidate = Path(labels_dir) / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_label_image(path: str | Path, plane: int | None = None) -> np.ndarray:
    """A 2-D integer label image from PNG or TIFF, read through the guarded image reader.

    Grey images are taken as they are; RGB(A) images only when the colour channels are equal (a grey mask
    saved as colour); float images only when all values are whole numbers. Stacks are refused unless
    `plane` names the plane of a multi-page label file to read.
    """
    path = Path(path)
    if path.suffix.lower() not in LABEL_SUFFIXES:
        raise AnnotationError(path, f"label images are PNG or TIFF, not {path.suffix!r}")
    image = read_image(path, plane=plane or 0)
    if plane is None and image.n_planes != 1:
        raise AnnotationError(path, f"label image must have one plane, found {image.n_planes}")
    pixels = image.pixels
    if pixels.shape[2] not in (1, 3, 4):
        raise AnnotationError(path, f"label image must have one channel, found {pixels.shape[2]}")
    if any(not np.array_equal(pixels[..., 0], pixels[..., c]) for c in range(1, min(3, pixels.shape[2]))):
        raise AnnotationError(path, "is a colour image, not a label image (channels differ)")
    pixels = pixels[..., 0]
    if pixels.dtype == bool:
        return pixels.astype(np.uint8)
    if not np.issubdtype(pixels.dtype, np.integer):
        if not (np.all(np.isfinite(pixels)) and np.array_equal(pixels, np.round(pixels))):
            raise AnnotationError(path, f"label image holds fractional values (dtype {pixels.dtype})")
        pixels = pixels.astype(np.int64)
    if pixels.size and pixels.min() < 0:
        raise AnnotationError(path, "label image holds negative values")
    return pixels


def import_label_image(path: str | Path, shape: tuple[int, int], plane: int | None = None) -> np.ndarray:
    """A conventional mask file (0 background, 1..K) -> an annotation (0 unlabelled, 1 background, 2..);
    `plane`: which plane of a multi-page mask."""
    path = Path(path)
    mask = read_label_image(path, plane)
    if mask.shape != tuple(shape[:2]):
        raise AnnotationError(path, f"label image shape {mask.shape} differs from the image's {tuple(shape[:2])}")
    if int(mask.max()) >= np.iinfo(np.uint16).max:
        raise AnnotationError(path, f"mask value {int(mask.max())} is too large for an annotation class")
    return mask_to_annotation(mask)
