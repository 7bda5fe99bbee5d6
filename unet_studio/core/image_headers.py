"""Header-only reading of image files: format sniffing, sizes, channels, TIFF layout and pixel size.

Used by ``core.images`` both for the cheap ``image_info`` and to refuse bad files (zero-size sides,
decompression bombs, uninterpretable TIFF axes) before any pixel data is decoded.
"""

from __future__ import annotations

import contextlib
import logging
import math
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from pathlib import Path

import tifffile

from unet_studio.core.errors import ImageReadError

MAX_PIXELS = 2**30  # larger images are refused before decoding (decompression-bomb guard)
MAX_CHANNELS = 64  # more than this is almost surely a stack stored as samples
# What third-party decoders raise on corrupt input (found by benchmarks/fuzz_readers.py: tifffile alone
# raised ZeroDivisionError, TypeError, KeyError and RuntimeError besides its own errors).
DECODER_ERRORS = (ArithmeticError, LookupError, ValueError, TypeError, RuntimeError, AttributeError,
                  AssertionError, EOFError, OSError, struct.error, zlib.error, tifffile.TiffFileError)
# Largest decoded/stored size ratio each TIFF compression can reach (with margin); a header claiming
# more is corrupt and is refused before a decoder allocates or loops over the claimed size.
_MAX_RATIO = {1: 1.0, 5: 5000.0, 8: 1100.0, 32946: 1100.0, 32773: 130.0}
_PNG_MAX_RATIO, _BMP_MAX_RATIO, _JPEG_MAX_RATIO = 1100.0, 130.0, 2000.0
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


class _BadHeader(ValueError):
    """A header field holds an impossible value; the message says which."""

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
)
_UM_PER_UNIT = {
    "um": 1.0, "µm": 1.0, "\u03bcm": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
    "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3, "cm": 1e4, "centimeter": 1e4,
    "m": 1e6, "meter": 1e6, "å": 1e-4, "angstrom": 1e-4, "pm": 1e-6, "inch": 25400.0,
}


@dataclass(frozen=True)
class Header:
    """Decoded-image geometry of a PNG/JPEG/BMP; ``data_offset`` is where the pixel data starts."""

    height: int
    width: int
    channels: int
    dtype: str
    data_offset: int = 0


@dataclass(frozen=True)
class TiffLayout:
    """How the first TIFF series maps onto (plane, H, W, C): unsqueezed axes, page-level dims first."""

    axes: str
    shape: tuple[int, ...]
    n_lead: int
    height: int
    width: int
    channels: int
    n_planes: int
    dtype: str
    pixel_size_um: float | None
    channel_names: tuple[str, ...]


def sniff_format(head: bytes) -> str | None:
    """'PNG' | 'JPEG' | 'BMP' | 'TIFF' from the first bytes of a file, or None."""
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def check_size(path: Path, height: int, width: int) -> None:
    """Refuse images with a zero-size side or more than MAX_PIXELS pixels (before decoding)."""
    if height <= 0 or width <= 0:
        raise ImageReadError(path, f"image has a zero-size side ({height} x {width} pixels)")
    if height * width > MAX_PIXELS:
        raise ImageReadError(
            path, f"image too large ({height} x {width} pixels, more than 2**30): refused before decoding"
        )


@contextlib.contextmanager
def quiet_tifffile():
    """Silence tifffile's log warnings about corrupt files while we read: our one-line error says it."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_header(path: Path, kind: str) -> Header:
    """Parse a PNG, JPEG or BMP header and check its size (and that the file could hold that many pixels)."""
    with open(path, "rb") as handle:
        head = handle.read(65536)
        try:
            header = {"PNG": _png_header, "JPEG": _jpeg_header, "BMP": _bmp_header}[kind](head, handle)
        except _BadHeader as exc:
            raise ImageReadError(path, f"cannot read {kind} (corrupt header: {exc})") from exc
        except (struct.error, IndexError, ValueError) as exc:
            raise ImageReadError(path, f"cannot read {kind} (corrupt or truncated header)") from exc
        file_size = handle.seek(0, 2)
    check_size(path, header.height, header.width)
    ratio = {"PNG": _PNG_MAX_RATIO, "BMP": _BMP_MAX_RATIO, "JPEG": _JPEG_MAX_RATIO}[kind]
    decoded = header.height * header.width * header.channels * (2 if header.dtype == "uint16" else 1)
    if decoded > file_size * ratio + 2**16:
        raise ImageReadError(path, f"cannot read {kind} (corrupt or truncated: {file_size} bytes cannot hold "
                                   f"{header.height} x {header.width} pixels)")
    return header


def _png_header(head: bytes, handle) -> Header:
    if head[12:16] != b"IHDR":
        raise _BadHeader("no IHDR chunk first")
    width, height, depth, color = struct.unpack(">IIBB", head[16:26])
    if depth not in _PNG_DEPTHS.get(color, ()):
        raise _BadHeader(f"colour type {color} with bit depth {depth} is not a valid PNG")
    channels = {0: 1, 2: 3, 3: 3, 4: 1, 6: 3}[color]
    return Header(height, width, channels, "uint16" if depth == 16 else "uint8")


def _jpeg_header(head: bytes, handle) -> Header:
    """Walk the JPEG markers, seeking over segments, up to the frame header (SOFn)."""
    pos = 2
    while True:
        handle.seek(pos)
        segment = handle.read(10)
        if len(segment) < 4 or segment[0] != 0xFF:
            raise ValueError("bad marker")
        marker = segment[1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        if marker in (0xDA, 0xD9):
            raise ValueError("no frame header before the image data")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            precision, height, width, components = struct.unpack(">BHHB", segment[4:10])
            return Header(height, width, components, "uint8" if precision <= 8 else "uint16", pos)
        pos += 2 + struct.unpack(">H", segment[2:4])[0]


def _bmp_header(head: bytes, handle) -> Header:
    """BMP sizes; palette images (<= 8 bits) with a grey palette decode to one channel."""
    dib_size = struct.unpack("<I", head[14:18])[0]
    if dib_size == 12:
        width, height, _, bits = struct.unpack("<HHHH", head[18:26])
        entry, n_colors = 3, 0
    else:
        width, height, _, bits = struct.unpack("<iiHH", head[18:30])
        entry, n_colors = 4, struct.unpack("<I", head[46:50])[0]
    channels = 3
    if bits <= 8:
        n_colors = n_colors or 2**bits
        start = 14 + dib_size
        palette = head[start: start + n_colors * entry]
        if len(palette) < n_colors * entry:
            raise ValueError("short palette")
        grey = all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette), entry))
        channels = 1 if grey else 3
    return Header(abs(height), abs(width), channels, "uint8")


def check_tiff_chain(path: Path) -> None:
    """Follow the chain of TIFF pages (IFDs) and refuse one that loops: tifffile would follow it forever."""
    with open(path, "rb") as handle:
        head = handle.read(16)
        order = "<" if head[:2] == b"II" else ">"
        big = head[2:4] in (b"+\x00", b"\x00+")
        count_format, entry_size, next_format = ("Q", 20, "Q") if big else ("H", 12, "I")
        try:
            offset = struct.unpack(order + next_format, head[8:16] if big else head[4:8])[0]
        except struct.error as exc:
            raise ImageReadError(path, "cannot read TIFF (truncated header)") from exc
        count_size, next_size = struct.calcsize(count_format), struct.calcsize(next_format)
        file_size, seen = handle.seek(0, 2), set()
        while offset and offset + count_size <= file_size:  # a chain running off the end is tifffile's to report
            if offset in seen:
                raise ImageReadError(path, f"cannot read TIFF (corrupt: the chain of pages loops back to byte {offset})")
            seen.add(offset)
            handle.seek(offset)
            (count,) = struct.unpack(order + count_format, handle.read(count_size))
            link_at = offset + count_size + count * entry_size
            if link_at + next_size > file_size:
                return
            handle.seek(link_at)
            (offset,) = struct.unpack(order + next_format, handle.read(next_size))


def tiff_layout(path: Path, tif: tifffile.TiffFile) -> TiffLayout:
    """Interpret the first series: Y, X spatial; C, S channels; any other axis flattened into planes."""
    try:
        series = tif.series[0]
        axes, shape = series.get_axes(False), tuple(int(n) for n in series.get_shape(False))
        n_pages, dtype = len(series.pages), str(series.dtype)
        page_size = series.keyframe.size
    except DECODER_ERRORS as exc:
        raise ImageReadError(path, f"cannot read TIFF (corrupt or truncated header: {exc})") from exc
    if "Y" not in axes or "X" not in axes:
        raise ImageReadError(path, f"cannot interpret TIFF axes {axes!r} {shape}: no Y and X axes")
    n_lead = next(
        (k for k in range(axes.index("Y"), -1, -1)
         if math.prod(shape[:k]) == n_pages and math.prod(shape[k:]) == page_size
         and "X" not in axes[:k]),
        None,
    )
    if n_lead is None:
        raise ImageReadError(
            path, f"cannot interpret TIFF layout (axes {axes!r} {shape} over {n_pages} page(s)): truncated?"
        )
    height, width = shape[axes.index("Y")], shape[axes.index("X")]
    check_size(path, height, width)
    channels = math.prod(n for a, n in zip(axes, shape) if a in "CS")
    n_planes = math.prod(n for a, n in zip(axes, shape) if a not in "YXCS")
    if channels > MAX_CHANNELS:
        raise ImageReadError(
            path, f"cannot interpret TIFF axes {axes!r} {shape}: {channels} channels (at most {MAX_CHANNELS})"
        )
    check_tiff_page(path, series.keyframe, series.keyframe, tif.filehandle.size)
    rgb = series.keyframe.photometric == tifffile.PHOTOMETRIC.RGB and channels in (3, 4)
    try:
        names, pixel_size = _ome_channel_names(tif, channels), _tiff_pixel_size(tif)
    except DECODER_ERRORS:  # damaged metadata costs the names and pixel size, not the image
        names, pixel_size = None, None
    return TiffLayout(axes, shape, n_lead, height, width, channels, n_planes, dtype, pixel_size,
                      names or _default_names(channels, rgb))


def check_tiff_page(path: Path, page, keyframe, file_size: int) -> None:
    """Refuse a page whose strip/tile table cannot hold its image: missing segments, data past the end of
    the file, or more pixels than its compression could pack into the bytes present."""
    try:
        expected = math.prod(keyframe.chunked)
        offsets, counts = [int(o) for o in page.dataoffsets], [int(c) for c in page.databytecounts]
        decoded, compression = keyframe.nbytes, int(keyframe.compression)
    except DECODER_ERRORS as exc:
        raise ImageReadError(path, f"cannot read TIFF (corrupt strip or tile table: {exc})") from exc
    if len(offsets) != expected or len(counts) != expected:
        raise ImageReadError(path, f"cannot read TIFF (corrupt: {len(offsets)} of {expected} strips or tiles listed)")
    if any(offset + count > file_size for offset, count in zip(offsets, counts)):
        raise ImageReadError(path, f"cannot read TIFF (truncated or corrupt: pixel data runs past the end of "
                                   f"the file at {file_size} bytes)")
    present = sum(counts)
    ratio = _MAX_RATIO.get(compression)
    if ratio is not None and decoded > present * ratio + (0 if compression == 1 else 2**16):
        raise ImageReadError(path, f"cannot read TIFF (corrupt or truncated: {present} bytes of pixel data "
                                   f"cannot hold {keyframe.shape} {keyframe.dtype})")


def _default_names(channels: int, rgb: bool) -> tuple[str, ...]:
    if rgb:
        return ("red", "green", "blue", "alpha")[:channels]
    return ("gray",) if channels == 1 else tuple(f"channel {i + 1}" for i in range(channels))


def _ome_pixels(tif: tifffile.TiffFile) -> ET.Element | None:
    """The Pixels element of the first OME Image, namespace-agnostic; None when absent or invalid."""
    if not tif.is_ome or not tif.ome_metadata:
        return None
    try:
        root = ET.fromstring(tif.ome_metadata)
    except ET.ParseError:
        return None
    return next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)


def _ome_channel_names(tif: tifffile.TiffFile, channels: int) -> tuple[str, ...] | None:
    pixels = _ome_pixels(tif)
    if pixels is None:
        return None
    names = tuple(el.get("Name", "") for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel")
    return names if len(names) == channels and all(names) else None


def _to_um(value: float, unit: str) -> float | None:
    factor = _UM_PER_UNIT.get(unit.strip().lower().replace("\\u00b5", "µ"))
    return value * factor if factor and value > 0 and math.isfinite(value) else None


def _tiff_pixel_size(tif: tifffile.TiffFile) -> float | None:
    """Pixel width in µm: OME PhysicalSizeX, else X resolution in ImageJ's unit or the TIFF's unit."""
    pixels = _ome_pixels(tif)
    if pixels is not None and pixels.get("PhysicalSizeX"):
        try:
            return _to_um(float(pixels.get("PhysicalSizeX")), pixels.get("PhysicalSizeXUnit", "µm"))
        except ValueError:
            return None
    tags = tif.pages.first.tags
    if "XResolution" not in tags:
        return None
    numerator, denominator = tags["XResolution"].value
    if numerator <= 0 or denominator <= 0:
        return None
    per_pixel = denominator / numerator
    if tif.is_imagej and tif.imagej_metadata and tif.imagej_metadata.get("unit"):
        return _to_um(per_pixel, str(tif.imagej_metadata["unit"]))
    unit = tags["ResolutionUnit"].value if "ResolutionUnit" in tags else 2
    # 2 inch and 3 cm are TIFF 6; 4 mm and 5 µm are the extension tifffile and some microscopes write.
    return _to_um(per_pixel, {2: "inch", 3: "cm", 4: "mm", 5: "µm"}.get(int(unit), ""))


def tiff_pixel_size(tif: tifffile.TiffFile) -> float | None:
    """Pixel width in µm of an open TIFF (OME, ImageJ or TIFF resolution tags), or None."""
    return _tiff_pixel_size(tif)
