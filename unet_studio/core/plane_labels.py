"""Labels of a stack (Z or T): one 2-D annotation per plane, stored as ONE multi-page TIFF per image.

``annotations/<image id>.tif`` holds one page per plane (uint8 class values, uint16 once a value passes 255;
0 = unlabelled), zlib-compressed and written atomically (temp file, fsync, os.replace), so a 3-D volume's
labels are one file Fiji and napari open as a stack. Single-plane images keep core.annotations unchanged.

Projects made before labels were per plane stored one 2-D annotation (``.png`` or one-page ``.tif``) for a
whole stack. The app showed plane 0 whenever an image opened, and trained and predicted plane 0 only
(``read_image``'s default plane), so that file is read as plane 0's labels and the other planes as
unlabelled: copying it to every plane would invent labels wherever objects moved or the focus changed. The
first save of any plane rewrites the file as the multi-page stack (plane 0 keeping the old labels).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import tifffile

from unet_studio.core.annotations import (annotation_file, checked_labels, label_status, read_annotation,
                                          write_annotation)
from unet_studio.core.atomic import atomic_write_bytes
from unet_studio.core.errors import AnnotationError, ImageReadError
from unet_studio.core.images import image_info, read_image


def _pages(path: Path) -> int:
    try:
        return image_info(path).n_planes
    except ImageReadError as exc:
        raise AnnotationError(path, f"cannot read annotation ({exc.reason})") from exc


def _check_pages(path: Path, pages: int, n_planes: int) -> None:
    if pages not in (1, n_planes):
        raise AnnotationError(path, f"annotation has {pages} planes but the image has {n_planes}")


def read_label_plane(path: str | os.PathLike, plane: int, n_planes: int,
                     shape: tuple[int, int]) -> np.ndarray:
    """Plane ``plane`` (H, W) of a stack's annotation file; a one-page file (an old project's shared 2-D
    annotation) is plane 0's labels, the other planes of it are unlabelled (zeros)."""
    source = Path(path)
    pages = _pages(source)
    _check_pages(source, pages, n_planes)
    if pages == 1:
        labels = read_annotation(source, shape)
        return labels if plane == 0 else np.zeros(shape, labels.dtype)
    try:
        pixels = read_image(source, plane=plane).pixels
    except ImageReadError as exc:
        raise AnnotationError(source, f"cannot read annotation ({exc.reason})") from exc
    if pixels.shape[2] != 1 or pixels.dtype not in (np.uint8, np.uint16) or pixels.shape[:2] != tuple(shape):
        raise AnnotationError(source, f"annotation plane {plane} is {pixels.shape[0]} x {pixels.shape[1]} x "
                              f"{pixels.shape[2]} {pixels.dtype}; expected {shape[0]} x {shape[1]} uint8/uint16")
    return pixels[:, :, 0]


def read_label_planes(path: str | os.PathLike | None, n_planes: int, shape: tuple[int, int]) -> np.ndarray:
    """Every plane's labels (P, H, W); all zeros (uint8) when ``path`` is None."""
    if path is None:
        return np.zeros((n_planes, *shape), np.uint8)
    whole = _read_stack_at_once(Path(path), n_planes, shape)
    if whole is not None:
        return whole
    planes = [read_label_plane(path, p, n_planes, shape) for p in range(n_planes)]
    dtype = np.uint16 if any(p.dtype == np.uint16 for p in planes) else np.uint8
    return np.stack([p.astype(dtype, copy=False) for p in planes])


def _read_stack_at_once(source: Path, n_planes: int, shape: tuple[int, int]) -> np.ndarray | None:
    """The (P, H, W) uint8/uint16 pages of a TIFF in one read when the file is laid out so (as ours are);
    None for anything else (the per-plane reads handle other layouts and say what is wrong)."""
    if source.suffix.lower() not in (".tif", ".tiff"):
        return None
    try:
        volume = tifffile.imread(source)
    except (OSError, ValueError, tifffile.TiffFileError):
        return None
    if volume.shape != (n_planes, *shape) or volume.dtype not in (np.uint8, np.uint16):
        return None
    return volume


def read_every_plane(path: str | os.PathLike) -> np.ndarray:
    """Every page of a label file (P, H, W), whatever the image it belongs to (a one-page file: P = 1)."""
    source = Path(path)
    pages = _pages(source)
    if pages == 1:
        return read_annotation(source)[None]
    info = image_info(source)
    return read_label_planes(source, pages, (info.height, info.width))


def write_label_planes(stem: str | os.PathLike, volume: np.ndarray) -> Path:
    """Write (P, H, W) labels as the multi-page ``<stem>.tif`` atomically; an older ``<stem>.png`` goes."""
    base = Path(stem)
    volume, high = checked_labels(base, volume, 3, "plane labels")
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, volume.astype(np.uint8 if high <= 255 else np.uint16, copy=False),
                     compression="zlib", photometric="minisblack", metadata={"axes": "QYX"})
    target = base.with_name(base.name + ".tif")
    atomic_write_bytes(target, buffer.getvalue())
    base.with_name(base.name + ".png").unlink(missing_ok=True)
    return target


def write_label_plane(stem: str | os.PathLike, plane: int, labels: np.ndarray,
                      n_planes: int) -> tuple[Path, np.ndarray]:
    """Replace one plane's labels in the stack's file (the other planes as on disk now); returns the file
    written and the whole volume as written."""
    base = Path(stem)
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise AnnotationError(base, f"labels must be a 2-D integer array, got {labels.dtype} {labels.shape}")
    if not 0 <= plane < n_planes:
        raise AnnotationError(base, f"plane {plane} out of range (the image has {n_planes} plane(s))")
    volume = read_label_planes(annotation_file(base), n_planes, labels.shape)
    if labels.dtype.itemsize > volume.dtype.itemsize or (labels.size and int(labels.max()) > 255):
        volume = volume.astype(np.uint16)
    volume[plane] = labels
    return write_label_planes(base, volume), volume


def save_plane(stem: str | os.PathLike, labels: np.ndarray, plane: int = 0,
               n_planes: int = 1) -> tuple[Path, str, int | None]:
    """Write one plane's labels atomically: a single-plane image's annotation, or that plane of a stack's
    file. Returns the file, the image's label status and, for a stack, how many planes hold labels."""
    if n_planes == 1:
        return write_annotation(stem, labels), label_status(labels), None
    written, volume = write_label_plane(stem, plane, labels, n_planes)
    return (written, *stack_status(volume))


def stack_status(volume: np.ndarray) -> tuple[str, int]:
    """The image's status over its planes ('unlabelled' / 'partial' / 'labelled': every pixel of every
    plane labelled) and how many planes hold any label."""
    labelled = int(sum(bool(p.any()) for p in volume))
    if labelled == 0:
        return "unlabelled", 0
    return ("labelled" if labelled == len(volume) and label_status(volume) == "labelled" else "partial"), labelled
