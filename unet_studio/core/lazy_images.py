"""Facts about images read lazily (OME-Zarr folders, TIFFs too big to read whole) that the project needs
without decoding pixels: NGFF metadata and the full-resolution size. Reading regions is io.ome_zarr's job;
this is JSON and TIFF headers only, so core stays free of zarr."""

from __future__ import annotations

import json
import os
from pathlib import Path

import tifffile

from unet_studio.core.image_headers import DECODER_ERRORS, quiet_tifffile

ZARR_SUFFIXES = (".ome.zarr", ".zarr")


def read_ngff_attrs(folder: str | os.PathLike) -> dict | None:
    """The NGFF attributes of a zarr group folder, 0.5 (``zarr.json`` attributes.ome) or 0.4 (``.zattrs``),
    as one dict holding ``multiscales`` (and ``omero`` when present); None if it has none."""
    folder = Path(folder)
    for name, unwrap in (("zarr.json", lambda d: d.get("attributes", {}).get("ome", {})), (".zattrs", lambda d: d)):
        try:
            attrs = unwrap(json.loads((folder / name).read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(attrs, dict) and isinstance(attrs.get("multiscales"), list) and attrs["multiscales"]:
            return attrs
    return None


def is_zarr_image(path: str | os.PathLike) -> bool:
    """A folder named ``*.zarr`` / ``*.ome.zarr`` holding NGFF multiscales metadata."""
    path = Path(path)
    return path.name.lower().endswith(ZARR_SUFFIXES) and path.is_dir() and read_ngff_attrs(path) is not None


def list_zarr_images(folder: str | os.PathLike) -> list[Path]:
    """The OME-Zarr images directly in ``folder`` (hidden ones skipped), sorted by name."""
    root = Path(folder)
    found = [p for p in root.iterdir() if not p.name.startswith(".") and is_zarr_image(p)] if root.is_dir() else []
    return sorted(found, key=lambda p: (p.name.lower(), p.name))


def lazy_image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(H, W) of level 0 of an OME-Zarr folder or of a TIFF's first series (no size limit), else None."""
    path = Path(path)
    if path.is_dir():
        return _zarr_size(path)
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            if not _reads_in_pieces(tif.pages[0]):
                return None  # one huge strip: any region would decode all of it (a decompression bomb)
            return int(series.shape[series.axes.index("Y")]), int(series.shape[series.axes.index("X")])
    except (*DECODER_ERRORS, IndexError):
        return None


MAX_PIECE_BYTES = 2**26  # a big TIFF is read tile by tile or strip by strip; no piece may decode to more


def _reads_in_pieces(page) -> bool:
    """Whether a TIFF page can be read a region at a time: tiled, or in strips of at most MAX_PIECE_BYTES."""
    if page.is_tiled:
        return True
    itemsize = page.dtype.itemsize if page.dtype is not None else 1
    rows = min(int(page.rowsperstrip or page.imagelength), int(page.imagelength))
    return rows * int(page.imagewidth) * int(page.samplesperpixel) * itemsize <= MAX_PIECE_BYTES


def _zarr_size(folder: Path) -> tuple[int, int] | None:
    attrs = read_ngff_attrs(folder)
    if attrs is None:
        return None
    multiscale = attrs["multiscales"][0]
    try:
        axes = [a if isinstance(a, str) else a["name"] for a in multiscale.get("axes") or "tczyx"]
        level = folder / str(multiscale["datasets"][0]["path"])
        meta = level / "zarr.json" if (level / "zarr.json").is_file() else level / ".zarray"
        shape = json.loads(meta.read_text(encoding="utf-8"))["shape"]
        return int(shape[axes.index("y")]), int(shape[axes.index("x")])
    except (OSError, ValueError, LookupError, TypeError):
        return None
