"""Tiled and pyramidal TIFFs (OME-TIFF with sub-resolutions, SVS-like) as a ``MultiscaleImage``: each level
of the first series read through tifffile's zarr store (``series.aszarr(level=i)``), tile by tile."""

from __future__ import annotations

from pathlib import Path

import tifffile

from unet_studio.core.errors import ImageReadError
from unet_studio.core.image_headers import DECODER_ERRORS, MAX_PIXELS, quiet_tifffile, tiff_pixel_size
from unet_studio.io.multiscale_image import MultiscaleImage


def is_big_tiff(path: Path) -> bool:
    """True when the TIFF's first series has sub-resolution levels or more than MAX_PIXELS pixels."""
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            axes, shape = series.axes, series.shape
            return len(series.levels) > 1 or shape[axes.index("Y")] * shape[axes.index("X")] > MAX_PIXELS
    except (*DECODER_ERRORS, IndexError):
        return False


def open_tiff_multiscale(path: Path) -> MultiscaleImage:
    """Open the first series of a TIFF with all its levels; the file stays open until ``close()``."""
    import zarr

    try:
        with quiet_tifffile():
            tif = tifffile.TiffFile(path)
    except DECODER_ERRORS as exc:
        raise ImageReadError(path, f"cannot read TIFF (corrupt or truncated header: {exc})") from exc
    try:
        with quiet_tifffile():
            series = tif.series[0]
            axes = series.axes
            arrays = [zarr.open_array(series.aszarr(level=i), mode="r") for i in range(len(series.levels))]
            pixel_size = _pixel_size(tif)
        return MultiscaleImage(path, arrays, axes, pixel_size,
                               on_close=tif.close)
    except ImageReadError:
        tif.close()
        raise
    except (*DECODER_ERRORS, IndexError) as exc:
        tif.close()
        raise ImageReadError(path, f"cannot read TIFF levels ({type(exc).__name__}: {exc})") from exc


def _pixel_size(tif: tifffile.TiffFile) -> float | None:
    try:
        return tiff_pixel_size(tif)
    except DECODER_ERRORS:  # damaged metadata costs the pixel size, not the image
        return None
