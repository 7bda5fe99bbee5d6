"""``convert``: any image this program can read -> an OME-Zarr pyramid. TIFFs and OME-Zarr folders are read
region by region through the lazy source (a big TIFF tile by tile, never whole); PNG, JPEG and BMP files,
which cannot be read in parts, are read whole (they are limited to MAX_PIXELS anyway)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from unet_studio.core.errors import ImageReadError, StudioError
from unet_studio.core.images import read_image
from unet_studio.io.multiscale_image import MultiscaleImage
from unet_studio.io.ome_zarr import open_multiscale
from unet_studio.io.ome_zarr_write import DEFAULT_CHUNK, create_ome_zarr

Progress = Callable[[str, int, int], None]


class _WholeImage:
    """A decoded flat image (PNG/JPEG/BMP) behind the one call convert needs from a MultiscaleImage."""

    def __init__(self, path: Path):
        data = read_image(path)
        self.path, self.pixels = path, data.pixels
        self.levels = (data.pixels.shape[:2],)
        self.channels, self.dtype = data.channels, data.pixels.dtype
        self.pixel_size_um, self.channel_names = data.pixel_size_um, data.channel_names

    def read(self, level: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        block = self.pixels[y0:y1, x0:x1]
        return block[:, :, 0] if self.channels == 1 else block

    def close(self) -> None:
        self.pixels = None


def convert_to_ome_zarr(source: str | os.PathLike, out: str | os.PathLike, chunk: int = DEFAULT_CHUNK,
                        ngff: str = "0.4", progress: Progress | None = None) -> Path:
    """Write ``source`` as an OME-Zarr pyramid at ``out`` (refused if it exists or is the source); the
    source's dtype, channels, channel names and pixel size are kept. Returns ``out``."""
    source, out = Path(source), Path(out)
    if out.exists():
        raise StudioError(out, "already exists; remove it or choose another output name")
    if not out.name.lower().endswith((".ome.zarr", ".zarr")):
        raise StudioError(out, "output name must end in .ome.zarr")
    image = _open(source)
    try:
        height, width = image.levels[0]
        writer = create_ome_zarr(out, (height, width), image.dtype, image.channels, chunk, image.pixel_size_um,
                                 ngff, tuple(image.channel_names), own={"kind": "image", "source": str(source)},
                                 name=source.name)
        try:
            blocks = [(y, x) for y in range(0, height, chunk) for x in range(0, width, chunk)]
            for done, (y, x) in enumerate(blocks, start=1):
                writer.write(y, x, image.read(0, y, y + chunk, x, x + chunk))
                if progress is not None:
                    progress("level 0", done, len(blocks))
            writer.build_pyramid("mean", None if progress is None else lambda d, n: progress("pyramid", d, n))
            return writer.finish()
        except BaseException:
            writer.abandon()
            raise
    finally:
        image.close()


def _open(source: Path) -> MultiscaleImage | _WholeImage:
    if not source.exists():
        raise ImageReadError(source, "file not found")
    if source.is_dir() or source.suffix.lower() in (".tif", ".tiff"):
        return open_multiscale(source)
    return _WholeImage(source)
