"""The lazy image source for images bigger than memory: OME-Zarr folders (NGFF 0.4 on zarr v2, 0.5 on zarr
v3) and tiled/pyramidal TIFFs, opened as one ``MultiscaleImage`` that reads regions, never the whole image.

NGFF metadata read here: ``multiscales[0]`` (``datasets`` paths, ``axes`` with their units,
``coordinateTransformations`` scale per level: the pixel size and each level's downsampling) and
``omero.channels`` labels. zarr is imported lazily (half a second) only when a store is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from unet_studio.core.errors import ImageReadError
from unet_studio.core.image_headers import DECODER_ERRORS
from unet_studio.core.lazy_images import ZARR_SUFFIXES, read_ngff_attrs
from unet_studio.io.multiscale_image import MultiscaleImage
from unet_studio.io.ome_zarr_tiff import is_big_tiff, open_tiff_multiscale

__all__ = ["MultiscaleImage", "ZARR_SUFFIXES", "is_multiscale_path", "open_multiscale", "read_ngff_attrs"]

_TIFF_SUFFIXES = (".tif", ".tiff")
# NGFF space units (UDUNITS-2 names) in µm; an axis without a unit gives no pixel size.
_UM_PER_UNIT = {"micrometer": 1.0, "micron": 1.0, "um": 1.0, "µm": 1.0, "nanometer": 1e-3, "nm": 1e-3,
                "millimeter": 1e3, "mm": 1e3, "centimeter": 1e4, "meter": 1e6, "angstrom": 1e-4, "picometer": 1e-6}


def is_multiscale_path(path: str | os.PathLike) -> bool:
    """True for what must be read through ``open_multiscale``: an OME-Zarr folder (multiscales metadata),
    or a TIFF with sub-resolution levels or too many pixels to read whole (core.image_headers.MAX_PIXELS)."""
    source = Path(path)
    if source.is_dir():
        return read_ngff_attrs(source) is not None
    return source.is_file() and source.suffix.lower() in _TIFF_SUFFIXES and is_big_tiff(source)


def open_multiscale(path: str | os.PathLike) -> MultiscaleImage:
    """Open an OME-Zarr folder or a TIFF as a ``MultiscaleImage``; one-line ImageReadError when it cannot."""
    source = Path(path)
    if not source.exists():
        raise ImageReadError(source, "file not found")
    if source.is_dir():
        return _open_ome_zarr(source)
    if source.suffix.lower() in _TIFF_SUFFIXES:
        return open_tiff_multiscale(source)
    raise ImageReadError(source, "not a multiscale image (expected an .ome.zarr folder or a TIFF)")


def _open_ome_zarr(folder: Path) -> MultiscaleImage:
    attrs = read_ngff_attrs(folder)
    if attrs is None:
        raise ImageReadError(folder, "not an OME-Zarr image (no multiscales metadata in zarr.json or .zattrs)")
    import zarr

    multiscale = attrs["multiscales"][0]
    try:
        axes = _axes(multiscale)
        datasets = multiscale["datasets"]
        group = zarr.open_group(str(folder), mode="r")
        arrays = [group[str(d["path"])] for d in datasets]
        scales = [_scale(d, len(axes)) for d in datasets]
    except (*DECODER_ERRORS, FileNotFoundError) as exc:
        raise ImageReadError(folder, f"cannot read OME-Zarr metadata ({type(exc).__name__}: {exc})") from exc
    names = "".join(axis["name"][0].upper() for axis in axes)
    x = names.index("X") if "X" in names else 0
    level_scales = [s[x] / scales[0][x] for s in scales] if all(s[x] > 0 for s in scales) else None
    unit = axes[x].get("unit")
    factor = _UM_PER_UNIT.get(str(unit).lower()) if unit else None
    pixel_size = scales[0][x] * factor if factor and scales[0][x] > 0 else None
    channels = attrs.get("omero", {}).get("channels", []) if isinstance(attrs.get("omero"), dict) else []
    labels = tuple(str(c.get("label", "")) for c in channels if isinstance(c, dict))
    return MultiscaleImage(folder, arrays, names, pixel_size, labels if all(labels) else (), level_scales)


def _axes(multiscale: dict) -> list[dict]:
    """NGFF axes as dicts; 0.3 wrote plain names, 0.1/0.2 none at all (then always t, c, z, y, x)."""
    axes = multiscale.get("axes") or ["t", "c", "z", "y", "x"]
    return [{"name": a} if isinstance(a, str) else dict(a) for a in axes]


def _scale(dataset: dict, ndim: int) -> list[float]:
    """The scale transform of one level (1 per axis when absent)."""
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale" and len(transform.get("scale", [])) == ndim:
            return [float(v) for v in transform["scale"]]
    return [1.0] * ndim
