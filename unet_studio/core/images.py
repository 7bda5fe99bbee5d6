"""Read microscopy images (PNG, JPEG, BMP, TIFF/OME-TIFF) as (H, W, C) arrays in the file's dtype.

Conventions, chosen so the header-only ``image_info`` and the full ``read_image`` always agree:
* PNG/JPEG/BMP: RGB order; alpha is dropped (it is transparency, not a measurement); palette images
  become RGB (BMP with a grey palette stays one channel); 1-bit images become uint8 0/255.
* TIFF: every sample is kept as a channel. Series axes Y, X are spatial, C and S are channels, every
  other axis (T, Z, Q...) is flattened, in file order, into planes read one at a time.
Every failure is an ImageReadError "<file>: <reason>" on one line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import imagecodecs
import numpy as np
import tifffile

from unet_studio.core import image_headers
from unet_studio.core.errors import ImageReadError
from unet_studio.core.image_headers import DECODER_ERRORS, MAX_PIXELS, Header, TiffLayout  # noqa: F401

_FLAT_ERRORS = (*DECODER_ERRORS, cv2.error)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_DOUBLE_SUFFIXES = (".ome.tif", ".ome.tiff", ".ome.zarr")


def file_stem(path: str | os.PathLike) -> str:
    """The one rule that names an image and pairs it with its label files: the name without its suffix,
    '.ome.tif' / '.ome.tiff' / '.ome.zarr' counting as one ('a.ome.tiff' -> 'a', 'a.tif' -> 'a', 'a.b.png' -> 'a.b')."""
    path = Path(path)
    for double in _DOUBLE_SUFFIXES:
        if path.name.lower().endswith(double):
            return path.name[: -len(double)]
    return path.stem


@dataclass(frozen=True)
class ImageData:
    """One plane of an image file: ``pixels`` is (H, W, C) in the file's dtype."""

    path: Path
    pixels: np.ndarray
    n_planes: int
    plane: int
    pixel_size_um: float | None
    channel_names: tuple[str, ...]

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


@dataclass(frozen=True)
class ImageInfo:
    """What a file holds, read from its header only (cheap enough for hundreds of files)."""

    height: int
    width: int
    channels: int
    n_planes: int
    dtype: str
    pixel_size_um: float | None


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder`` (by suffix, hidden files skipped), sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise ImageReadError(root, "folder not found")
    files = [
        p for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    ]
    return sorted(files, key=lambda p: (p.name.lower(), p.name))


def image_info(path: str | os.PathLike) -> ImageInfo:
    """Size, channels, planes, dtype and pixel size from the file header, without decoding pixels."""
    source = Path(path)
    kind = _check_file(source)
    try:
        if kind == "TIFF":
            with image_headers.quiet_tifffile(), _open_tiff(source) as tif:
                layout = image_headers.tiff_layout(source, tif)
                return ImageInfo(layout.height, layout.width, layout.channels, layout.n_planes,
                                 layout.dtype, layout.pixel_size_um)
        header = image_headers.read_header(source, kind)
    except MemoryError as exc:
        raise ImageReadError(source, "not enough memory to read this image's header") from exc
    return ImageInfo(header.height, header.width, header.channels, 1, header.dtype, None)


def read_image(path: str | os.PathLike, plane: int = 0) -> ImageData:
    """Read one plane of an image file as ``ImageData`` (pixels (H, W, C), file dtype kept)."""
    source = Path(path)
    kind = _check_file(source)
    try:
        if kind == "TIFF":
            with image_headers.quiet_tifffile():
                return _read_tiff(source, plane)
        header = image_headers.read_header(source, kind)
        _check_plane(source, plane, 1)
        pixels = _decode_flat(source, kind, header)
    except MemoryError as exc:
        raise ImageReadError(source, "not enough memory to read this image") from exc
    names = ("red", "green", "blue") if pixels.shape[2] == 3 else ("gray",)
    return ImageData(source, pixels, 1, 0, None, names)


def _check_file(path: Path) -> str:
    """Check the file exists, is non-empty and holds a supported format; return that format."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        shown = suffix or "no suffix"
        raise ImageReadError(path, f"unsupported file type ({shown}; expected {', '.join(IMAGE_SUFFIXES)})")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ImageReadError(path, "not a file")
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found") from exc
    except PermissionError as exc:
        raise ImageReadError(path, "cannot open (permission denied)") from exc
    except OSError as exc:
        raise ImageReadError(path, f"cannot open ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    kind = image_headers.sniff_format(head)
    if kind is None:
        expected = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper())
        raise ImageReadError(path, f"not a {expected} image (unrecognised content)")
    return kind


def _check_plane(path: Path, plane: int, n_planes: int) -> None:
    if not 0 <= plane < n_planes:
        raise ImageReadError(path, f"plane {plane} out of range (the file has {n_planes} plane(s))")


def _decode_flat(path: Path, kind: str, header: Header) -> np.ndarray:
    """Decode a PNG/JPEG/BMP whose header has already passed the size checks."""
    data = path.read_bytes()
    if kind == "JPEG" and data.rfind(b"\xff\xd9") < header.data_offset:
        raise ImageReadError(path, "cannot read JPEG (truncated file: no end-of-image marker)")
    if kind == "PNG" and b"IEND" not in data[-64:]:
        raise ImageReadError(path, "cannot read PNG (truncated file: no IEND chunk)")
    try:
        if kind == "PNG":
            pixels = imagecodecs.png_decode(data)
        elif kind == "JPEG":
            pixels = imagecodecs.jpeg8_decode(data)
        else:
            pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except _FLAT_ERRORS as exc:
        raise ImageReadError(path, f"cannot read {kind} (corrupt data: {exc})") from exc
    if pixels is None:
        raise ImageReadError(path, f"cannot read {kind} (corrupt or truncated data)")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if kind == "BMP" and pixels.shape[2] >= 3:
        pixels = pixels[:, :, 2::-1]
    pixels = np.ascontiguousarray(pixels[:, :, : header.channels])
    if pixels.shape[:2] != (header.height, header.width):
        raise ImageReadError(path, f"cannot read {kind} (decoded size {pixels.shape[:2]} differs from header)")
    return pixels


def _open_tiff(path: Path) -> tifffile.TiffFile:
    image_headers.check_tiff_chain(path)
    try:
        return tifffile.TiffFile(path)
    except DECODER_ERRORS as exc:
        raise ImageReadError(path, f"cannot read TIFF (corrupt or truncated header: {exc})") from exc


def _read_tiff(path: Path, plane: int) -> ImageData:
    """Read one plane of the first TIFF series."""
    with _open_tiff(path) as tif:
        layout = image_headers.tiff_layout(path, tif)
        _check_plane(path, plane, layout.n_planes)
        try:
            pixels = _tiff_plane(path, tif, layout, plane)
        except DECODER_ERRORS as exc:
            raise ImageReadError(path, f"cannot read TIFF (corrupt or truncated data: {exc})") from exc
    return ImageData(path, pixels, layout.n_planes, plane, layout.pixel_size_um, layout.channel_names)


def _tiff_plane(path: Path, tif: tifffile.TiffFile, layout: TiffLayout, plane: int) -> np.ndarray:
    """Read the pages of ``plane`` (one per page-level channel), pick the in-page plane, give (H, W, C);
    each page's strip table is checked first so a corrupt one cannot make the decoder loop or over-allocate."""
    series = tif.series[0]
    axes, shape, n_lead = layout.axes, layout.shape, layout.n_lead
    plane_dims = [i for i, a in enumerate(axes) if a not in "YXCS"]
    coords = dict(zip(plane_dims, np.unravel_index(plane, [shape[i] for i in plane_dims]))) if plane_dims else {}
    index = tuple(int(coords[i]) if i in coords else slice(None) for i in range(len(axes)))
    picked = np.arange(math.prod(shape[:n_lead])).reshape(shape[:n_lead])[index[:n_lead]]
    for i in np.ravel(picked):
        page = series.pages[int(i)]
        own = page.keyframe  # a full page is its own keyframe; its tags, not the first page's, get decoded
        if own.shaped != series.keyframe.shaped or own.dtype != series.keyframe.dtype:
            raise ImageReadError(path, f"cannot read TIFF (corrupt: page {int(i)} is {own.shape} {own.dtype}, "
                                       f"the first page {series.keyframe.shape} {series.keyframe.dtype})")
        image_headers.check_tiff_page(path, page, own, tif.filehandle.size)
    pages = [series.asarray(key=int(i)).reshape(shape[n_lead:]) for i in np.ravel(picked)]
    data = np.stack(pages).reshape(np.shape(picked) + shape[n_lead:])
    data = data[(slice(None),) * np.ndim(picked) + index[n_lead:]]
    kept = "".join(a for i, a in enumerate(axes) if i not in coords)
    order = [kept.index("Y"), kept.index("X")] + [i for i, a in enumerate(kept) if a in "CS"]
    return np.ascontiguousarray(np.transpose(data, order).reshape(layout.height, layout.width, layout.channels))
