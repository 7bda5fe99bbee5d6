"""A corpus of awkward and broken image files, built in a temporary folder for the reliability tests.

Each entry says what a correct reader must do with the file: give exactly the expected pixels, or
refuse it with an ImageReadError whose one line names the file and contains ``reason``.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image


@dataclass(frozen=True)
class Expected:
    """``pixels`` (H, W, C) for a file that must read correctly, else the ``reason`` it must be refused."""

    pixels: np.ndarray | None = None
    reason: str = ""
    n_planes: int = 1

    @property
    def readable(self) -> bool:
        return self.pixels is not None


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and a valid CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 200_000, height: int = 200_000) -> bytes:
    """A valid-looking grey PNG whose IHDR declares a huge size, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def bomb_tiff(width: int = 200_000, height: int = 200_000) -> bytes:
    """A little-endian TIFF whose single strip claims a huge image (8-bit grey, zlib)."""
    strip = zlib.compress(b"\0" * 4096)
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, len(strip))]
    ifd_size = 2 + 12 * len(tags) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        value = data_offset if tag == 273 else value
        packed = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
        ifd += struct.pack("<HHI", tag, kind, 1) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + strip


def _pil_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _tiff_bytes(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def _png_bytes(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    assert ok
    return encoded.tobytes()


def build_corpus(folder: Path) -> dict[str, Expected]:
    """Write every corpus file into ``folder``; return file name -> what reading it must give."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (48, 40), dtype=np.uint8)
    rgb = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (33, 17), dtype=np.uint16)
    thin = rng.integers(0, 256, (1, 20000), dtype=np.uint8)
    floats = rng.random((16, 20), dtype=np.float32)
    floats[0, 0], floats[1, 1], floats[2, 2] = np.nan, np.inf, -np.inf
    palette_index = rng.integers(0, 4, (12, 10), dtype=np.uint8)
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [10, 20, 250]], np.uint8)
    bits = rng.integers(0, 2, (9, 13), dtype=bool)
    rgba = rng.integers(0, 256, (10, 11, 4), dtype=np.uint8)
    hyper = rng.integers(0, 256, (2, 3, 2, 16, 16), dtype=np.uint8)
    palette_image = Image.fromarray(palette_index, mode="P")
    palette_image.putpalette(colours.ravel().tolist())

    files: dict[str, tuple[bytes, Expected]] = {
        "good_grey.png": (_png_bytes(grey), Expected(grey[:, :, None])),
        "good_u16.tif": (_tiff_bytes(u16, compression="zlib"), Expected(u16[:, :, None])),
        "good_rgb.tif": (_tiff_bytes(rgb, photometric="rgb"), Expected(rgb)),
        "one_pixel.png": (_png_bytes(np.array([[7]], np.uint8)), Expected(np.array([[[7]]], np.uint8))),
        "thin_1x20000.png": (_png_bytes(thin), Expected(thin[:, :, None])),
        "nan_inf.tif": (_tiff_bytes(floats), Expected(floats[:, :, None])),
        "palette.png": (_pil_bytes(palette_image), Expected(colours[palette_index])),
        "one_bit.png": (_pil_bytes(Image.fromarray(bits)), Expected((bits * 255).astype(np.uint8)[:, :, None])),
        "rgba.png": (_pil_bytes(Image.fromarray(rgba, mode="RGBA")), Expected(rgba[:, :, :3])),
        "five_d.tif": (_tiff_bytes(hyper, imagej=True, metadata={"axes": "TZCYX"}),
                       Expected(np.moveaxis(hyper[0, 0], 0, -1), n_planes=6)),
        "zero_bytes.png": (b"", Expected(reason="empty file")),
        "zero_bytes.tif": (b"", Expected(reason="empty file")),
        "text.png": (b"these are notes, not an image\n", Expected(reason="not a PNG image")),
        "text.tif": (b"some words\n", Expected(reason="not a TIFF image")),
        "bomb_200000.png": (bomb_png(), Expected(reason="too large")),
        "bomb_200000.tif": (bomb_tiff(), Expected(reason="too large")),
    }
    for name, (data, _) in list(files.items()):
        if name.startswith("good_"):
            cut = name.replace("good_", "truncated_")
            files[cut] = (data[: len(data) // 2], Expected(reason="truncated"))
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: expected for name, (_, expected) in files.items()}
