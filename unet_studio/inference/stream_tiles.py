"""The overlap-tile blend of ``inference.tiling`` in pieces: the same tiles, windows and sums in the same
order (so every pixel gets bit for bit what ``iter_probability_bands`` gives it), but only a strip as tall
as the tile overlap is kept across the image's width, instead of a whole band of tile rows.

Within a tile row the running sums cover one tile's columns; when the next tile starts, the columns before
it are final for that row and go out as a piece (or, for rows the next tile row also covers, into the
carried strip). Memory is one tile plus ``overlap`` rows of the image width, whatever its height.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import numpy as np

from unet_studio.core.errors import StudioError
from unet_studio.inference.tile_functions import tile_geometry
from unet_studio.inference.tiling import TileReader, blend_window, reflect_indices, tile_layout

Piece = tuple[int, int, int, int, np.ndarray]  # y0, y1, x0, x1, probabilities (K, y1 - y0, x1 - x0)


def iter_probability_pieces(
    predict_tile: Callable[[np.ndarray], np.ndarray],
    read_tile: TileReader,
    height: int,
    width: int,
    tile: int,
    overlap: int,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Piece]:
    """Yield final probability pieces, row of tiles by row of tiles, left to right; each tile row's pieces
    together cover its finished rows across the whole width. Ends early (short of ``height``) on ``stop``."""
    margin, align = tile_geometry(predict_tile)
    tile_h, tile_w, ys, xs = tile_layout(height, width, tile, overlap, align)
    canvas_h, canvas_w = ys[-1] + tile_h, xs[-1] + tile_w
    window = blend_window(tile_h, tile_w, overlap)
    carry_p = carry_w = None  # (K, c, canvas_w), (c, canvas_w): sums of the rows the next tile row shares
    total, done = len(ys) * len(xs), 0
    for row, y in enumerate(ys):
        finished = (ys[row + 1] if row + 1 < len(ys) else canvas_h) - y
        keep = min(finished, height - y)
        rows = reflect_indices(y - margin, y + tile_h + margin, height)
        shared = 0 if carry_w is None else carry_w.shape[0]
        work_p = work_w = next_p = next_w = None
        for col, x in enumerate(xs):
            if stop is not None and stop.is_set():
                return
            probs = predict_tile(read_tile(rows, reflect_indices(x - margin, x + tile_w + margin, width)))
            if probs.shape[1:] != (tile_h, tile_w):
                raise StudioError(f"model output {probs.shape[1]}x{probs.shape[2]}",
                                  f"expected {tile_h}x{tile_w} for a tile with margin {margin}")
            if work_p is None:
                work_p = np.zeros((probs.shape[0], tile_h, tile_w), np.float32)
                work_w = np.zeros((tile_h, tile_w), np.float32)
                _fill_from_carry(work_p, carry_p, shared, x, 0, tile_w)
                next_p = np.zeros((probs.shape[0], tile_h - finished, canvas_w), np.float32)
                next_w = np.zeros((tile_h - finished, canvas_w), np.float32)
            work_p += probs * window
            work_w += window
            done += 1
            if progress is not None:
                progress(done, total)
            end = xs[col + 1] if col + 1 < len(xs) else canvas_w
            step = end - x
            weights = work_w.copy()
            if shared:
                weights[:shared] = carry_w[:, x:x + tile_w] + work_w[:shared]
            next_p[:, :, x:end] = work_p[:, finished:, :step]
            next_w[:, x:end] = weights[finished:, :step]
            x1 = min(end, width)
            if keep > 0 and x1 > x:
                yield y, y + keep, x, x1, work_p[:, :keep, :x1 - x] / weights[:keep, :x1 - x]
            if col + 1 < len(xs):  # slide the running sums to the next tile's columns
                work_p[:, :, :tile_w - step] = work_p[:, :, step:]
                work_p[:, :, tile_w - step:] = 0.0
                work_w[:, :tile_w - step] = work_w[:, step:]
                work_w[:, tile_w - step:] = 0.0
                _fill_from_carry(work_p, carry_p, shared, end, tile_w - step, tile_w)  # work column 0 = image column end
        carry_p, carry_w = next_p, next_w


def _fill_from_carry(work_p: np.ndarray, carry_p: np.ndarray | None, shared: int, origin: int, c0: int,
                     c1: int) -> None:
    """Start columns c0:c1 of the running sums (work column 0 = image column ``origin``) at the carried
    strip's values, for the rows the previous tile row shared."""
    if shared and c1 > c0:
        work_p[:, :shared, c0:c1] = carry_p[:, :, origin + c0:origin + c1]
