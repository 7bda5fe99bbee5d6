"""Prediction of images bigger than memory, streamed from a lazy source (``io.ome_zarr``) into an OME-Zarr
label image, chunk row by chunk row: memory stays flat in the image's size.

The tiles, blend windows and sums are the whole-image tiler's (``inference.stream_tiles``), so the mask is
the one ``Predictor.predict`` gives for an image small enough for both (the normalisation range comes from
level 0 when it has at most ``RANGE_PIXELS`` pixels, else from the finest level that small). Instances and
``min_size``: each chunk is labelled by the usual post-processing, objects touching across chunk borders are
merged and ids made unique (``inference.stream_instances``), then a second pass relabels the chunks.
``fill_holes`` needs whole objects and is not offered here.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from unet_studio.core.errors import StudioError
from unet_studio.core.normalize import normalize_with_range
from unet_studio.data.lazy_patches import RANGE_PIXELS, intensity_range
from unet_studio.inference.postprocess import SEED_HEIGHT, border_mask, classify_pixels
from unet_studio.inference.predictor import MIN_INSTANCE_SIZE, Predictor
from unet_studio.inference.stream_instances import BorderMerger
from unet_studio.inference.stream_tiles import iter_probability_pieces
from unet_studio.inference.tiling import tile_function
from unet_studio.io.multiscale_image import MultiscaleImage
from unet_studio.io.ome_zarr_write import DEFAULT_CHUNK, OmeZarrWriter, create_ome_zarr

__all__ = ["RANGE_PIXELS", "intensity_range", "stream_predict"]

_SCRATCH = "scratch-ids"


def stream_predict(
    predictor: Predictor,
    image: MultiscaleImage,
    out: str | Path,
    instances: bool = False,
    min_size: int | None = None,
    tta: bool | None = None,
    seed_height: float = SEED_HEIGHT,
    split_touching: bool = True,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = DEFAULT_CHUNK,
    ngff: str = "0.4",
) -> Path | None:
    """Predict ``image`` level 0 into ``out`` (``<stem>.ome.zarr``): the conventional mask as uint16 (0
    background, 1..K classes) or, with ``instances``, uint32 object ids; a previous output of ours there is
    replaced, anything else refused. Returns ``out``, or None when ``stop`` was set (nothing is left)."""
    if image.channels != predictor.in_channels:
        raise StudioError(image.path, f"image has {image.channels} channel(s) but the model "
                                      f"{Path(predictor.source).name} expects {predictor.in_channels}")
    if min_size is None:
        min_size = int(predictor.postprocess.get("min_size", MIN_INSTANCE_SIZE)) if instances else 0
    height, width = image.levels[0]
    lo, hi = intensity_range(image, predictor.normalization.get("low", 0.5), predictor.normalization.get("high", 99.5))
    own = {"kind": "instances" if instances else "mask", "source": str(image.path), "model": predictor.source,
           "classes": predictor.classes}
    writer = create_ome_zarr(out, (height, width), np.uint32 if instances else np.uint16, 1, chunk,
                             image.pixel_size_um, ngff, own=own, name=f"{Path(image.path).name} labels", labels=True)
    try:
        merger = BorderMerger(width, chunk, split_touching and instances, seed_height) if instances or min_size else None
        ids = writer.levels[0] if instances else _scratch(writer) if merger else None
        config = predictor.config if tta is None else replace(predictor.config, tta=tta)
        if not _predict_level0(predictor, image, config, (lo, hi), writer, merger, ids, stop, progress):
            writer.abandon()
            return None
        if merger is not None:
            _relabel(writer, ids, merger.final_ids(min_size)[0], instances)
        shutil.rmtree(writer.temp / _SCRATCH, ignore_errors=True)
        writer.build_pyramid("nearest")
        return writer.finish(replace_ours=True)
    except BaseException:
        writer.abandon()
        raise


def _scratch(writer: OmeZarrWriter):
    """A uint32 array for provisional ids beside level 0 (deleted before the store is finished)."""
    import zarr

    group = zarr.open_group(str(writer.temp), mode="r+")
    return group.create_array(_SCRATCH, shape=writer.levels[0].shape, chunks=writer.levels[0].chunks,
                              dtype=np.uint32, fill_value=0)


def _predict_level0(predictor, image, config, lo_hi, writer, merger, ids, stop, progress) -> bool:
    """Run the tiles, write the mask chunk row by chunk row (and provisional ids); False when stopped."""
    height, width = image.levels[0]
    chunk, lo, hi = writer.chunk, *lo_hi
    border = predictor.recipe.has_border

    def read_tile(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        r0, c0 = int(rows.min()), int(cols.min())
        region = image.read(0, r0, int(rows.max()) + 1, c0, int(cols.max()) + 1)
        region = region if region.ndim == 3 else region[:, :, None]
        return normalize_with_range(region[(rows - r0)[:, None], (cols - c0)[None, :]], lo, hi)

    pending = None  # mask rows [start, start + filled) not yet written
    start = filled = 0
    with tile_function(predictor.network(), config, None) as predict_tile:
        for y0, y1, x0, x1, probs in iter_probability_pieces(predict_tile, read_tile, height, width, config.tile,
                                                             config.overlap, stop, progress):
            piece = border_mask(probs, predictor.threshold) if border else classify_pixels(probs, predictor.threshold)
            if pending is None:
                pending = np.zeros((chunk + (y1 - y0) + 1, width), piece.dtype)
            if y0 - start + (y1 - y0) > pending.shape[0]:
                pending = np.concatenate([pending, np.zeros_like(pending)])
            pending[y0 - start:y1 - start, x0:x1] = piece
            if x1 == width:  # a tile row is done: write every full chunk row
                filled = y1 - start
                while filled >= chunk or (y1 == height and filled > 0):
                    rows = min(chunk, filled)
                    _write_rows(writer, merger, ids, start, pending[:rows])
                    pending[:filled - rows] = pending[rows:filled]
                    pending[filled - rows:] = 0
                    start, filled = start + rows, filled - rows
    return start == height


def _write_rows(writer: OmeZarrWriter, merger: BorderMerger | None, ids, y0: int, mask_rows: np.ndarray) -> None:
    """One chunk row: the mask into level 0 (unless level 0 holds the ids), the provisional ids into ``ids``."""
    rows = slice(y0, y0 + len(mask_rows))
    if ids is not writer.levels[0]:
        writer.levels[0][rows] = mask_rows
    if merger is not None:
        ids[rows] = merger.label_rows(mask_rows)


def _relabel(writer: OmeZarrWriter, ids, lut: np.ndarray, instances: bool) -> None:
    """Second pass, chunk by chunk: final object ids, or the mask with dropped objects set to background."""
    level = writer.levels[0]
    height, width = level.shape
    for y in range(0, height, writer.chunk):
        for x in range(0, width, writer.chunk):
            window = (slice(y, y + writer.chunk), slice(x, x + writer.chunk))
            final = lut[np.asarray(ids[window])]
            level[window] = final if instances else np.where(final > 0, np.asarray(level[window]), 0)
