"""Overlap-tile prediction with smooth blending, in row bands so memory stays bounded.

The image is cut into output tiles of at most ``tile x tile`` pixels (fitted per axis so no work is wasted)
that overlap by at least ``overlap`` pixels and start on the network's pooling grid. Each tile's
probabilities are weighted by a separable cosine window and the weighted sums are divided by the summed
weights, so seams vanish. For 'valid' networks (``model.margin = m`` pixels lost per side) each tile's
input is ``tile + 2m`` pixels, taken from the reflect-padded image: the U-Net paper's overlap-tile. Images
smaller than a tile, and the last tiles, are reflect-padded past the image edge and cropped back.

The network is any tile function (:mod:`unet_studio.inference.tile_functions`: an ``nn.Module`` is run
through ``TorchTiles`` in the runtime precision policy's choice; ONNX Runtime through ``OnnxTiles``); how
it is run comes in one :class:`~unet_studio.inference.config.PredictConfig`. Tiles are run one per call
(batching them was slower on CPU) and accumulated in a band of tile rows; a band is finished as soon as no
later tile can touch it. A ``stop`` Event is checked between tiles: when it is set the functions return
``None``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from unet_studio.core.errors import StudioError
from unet_studio.core.normalize import normalize_with_range
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.postprocess import classify_pixels, mask_dtype
from unet_studio.inference.tile_functions import (BlendedTiles, FlipAveraged, ForestBlended, TileFunction, TorchTiles,
                                                  tile_geometry)
from unet_studio.runtime.precision import choose_precision

Progress = Callable[[int, int], None]
TileReader = Callable[[np.ndarray, np.ndarray], np.ndarray]
Network = nn.Module | Callable[[np.ndarray], np.ndarray] | ForestBlended
DEFAULT_CONFIG = PredictConfig()

WINDOW_FLOOR = 1e-4


def axis_starts(size: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Tile starts along one axis, all multiples of ``align``, covering ``size`` pixels.

    Aligned starts keep every tile on the network's pooling grid, so a pixel gets the same prediction in
    any tile that contains it; the last tile may reach up to ``align - 1`` pixels past the end (or past one
    tile for images smaller than a tile): those pixels are reflect-padded and cropped away.
    """
    if tile % align:
        raise ValueError(f"tile {tile} is not a multiple of the alignment {align}")
    stride = max(align, (tile - overlap) // align * align)
    last = max(0, -(-(size - tile) // align) * align)
    return list(range(0, last, stride)) + [last]


def fitted_tile(size: int, tile: int, overlap: int, align: int = 1) -> int:
    """Tile length along one axis: the smallest multiple of ``align`` (at most ``tile``) that covers ``size``
    with as few tiles as ``tile`` would need. A 1024-px axis with tile 512 / overlap 64 needs three tiles
    either way; fitted they are 384 px long, not 512, which saves a third of the work. Images smaller than
    a tile get one tile of their own size rounded up to ``align``."""
    tile = -(-tile // align) * align
    if size <= tile:
        return -(-size // align) * align
    count = -(-(size - overlap) // (tile - overlap))
    fitted = -(-(size + (count - 1) * overlap) // count)
    return min(tile, -(-fitted // align) * align)


def tile_layout(height: int, width: int, tile: int, overlap: int, align: int = 1
                ) -> tuple[int, int, list[int], list[int]]:
    """How the tiler covers an image: ``(tile_h, tile_w, row starts, column starts)``, fitted lengths
    (:func:`fitted_tile`) and aligned starts (:func:`axis_starts`)."""
    check_tiling(tile, overlap)
    tile_h, tile_w = fitted_tile(height, tile, overlap, align), fitted_tile(width, tile, overlap, align)
    return tile_h, tile_w, axis_starts(height, tile_h, overlap, align), axis_starts(width, tile_w, overlap, align)


def check_tiling(tile: int, overlap: int) -> None:
    """Raise a one-line StudioError for tile settings that cannot work."""
    if tile < 8 or not 0 <= overlap <= tile // 2:
        raise StudioError(f"tile {tile}, overlap {overlap}", "tile must be >= 8 and overlap in 0..tile/2")


def window_1d(tile: int, overlap: int, floor: float = WINDOW_FLOOR) -> np.ndarray:
    """Blend weights along one axis: ``floor`` in the outer quarter of the overlap, a cosine rise, then 1.

    Within the overlap of two neighbouring tiles the rises sum to 1. The outer quarter (where zero padding
    at the tile edge distorts the network's output) gets only the small floor, which keeps every pixel
    covered by a positive weight at the image border.
    """
    distance = np.minimum(np.arange(tile), np.arange(tile)[::-1]).astype(np.float64)
    dead = overlap // 4
    rise = overlap - 2 * dead
    weights = np.ones(tile)
    if rise > 0:
        phase = np.clip((distance - dead + 0.5) / rise, 0.0, 1.0)
        weights = 0.5 - 0.5 * np.cos(np.pi * phase)
        weights[distance < dead] = 0.0
    return np.maximum(weights, floor).astype(np.float32)


def blend_window(tile_h: int, tile_w: int, overlap: int, floor: float = WINDOW_FLOOR) -> np.ndarray:
    """Separable 2-D blend window ``(tile_h, tile_w)``, the outer product of :func:`window_1d` (the overlap
    capped at half of each side)."""
    rows = window_1d(tile_h, min(overlap, tile_h // 2), floor)
    cols = window_1d(tile_w, min(overlap, tile_w // 2), floor)
    return np.outer(rows, cols)


def reflect_indices(start: int, stop: int, size: int) -> np.ndarray:
    """Indices ``start..stop-1`` mirrored into ``0..size-1`` (reflect without repeating the edge)."""
    index = np.arange(start, stop)
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.mod(index, period)
    return np.where(index >= size, period - index, index)


@contextmanager
def tile_function(network: Network, config: PredictConfig, device: torch.device | str | None) -> Iterator[TileFunction]:
    """``network`` as a tile function for the duration: an ``nn.Module`` runs through ``TorchTiles`` on
    ``device`` (None: where its weights are) in ``config.precision`` as the runtime policy resolves it, in
    eval mode (its mode given back after); any other callable is used as it is. ``config.tta`` adds flips.
    A ``ForestBlended`` network averages its network's tile function with its pixel forest."""
    if isinstance(network, ForestBlended):
        with tile_function(network.network, config, device) as inner:
            yield BlendedTiles(inner, network.forest)
    elif isinstance(network, nn.Module):
        device = next(network.parameters()).device if device is None else torch.device(device)
        runner = TorchTiles(network, device, choose_precision(device, config.precision))
        with runner.evaluating():
            yield FlipAveraged(runner) if config.tta else runner
    else:
        yield FlipAveraged(network) if config.tta else network


def iter_probability_bands(
    predict_tile: Callable[[np.ndarray], np.ndarray],
    read_tile: TileReader,
    height: int,
    width: int,
    tile: int = DEFAULT_CONFIG.tile,
    overlap: int = DEFAULT_CONFIG.overlap,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield finished row bands ``(y0, y1, probabilities (K, y1 - y0, width))`` from top to bottom.

    ``predict_tile`` is a tile function (its ``margin`` and ``align`` read by
    :func:`~unet_studio.inference.tile_functions.tile_geometry`). ``read_tile(rows, cols)`` returns its input
    ``float32 (C, len(rows), len(cols))`` for index arrays already mirrored into the image. ``tile`` is the
    largest tile side; each axis uses :func:`fitted_tile` with the function's alignment. The iteration
    simply ends early when ``stop`` is set; callers detect that by the last band not reaching ``height``.
    """
    margin, align = tile_geometry(predict_tile)
    tile_h, tile_w, ys, xs = tile_layout(height, width, tile, overlap, align)
    canvas_h, canvas_w = ys[-1] + tile_h, xs[-1] + tile_w
    window = blend_window(tile_h, tile_w, overlap)
    row_weights = np.zeros((tile_h, canvas_w), np.float32)
    for x in xs:
        row_weights[:, x : x + tile_w] += window
    weight_band = np.zeros_like(row_weights)
    total, done = len(ys) * len(xs), 0
    band = None
    for row, y in enumerate(ys):
        rows = reflect_indices(y - margin, y + tile_h + margin, height)
        for x in xs:
            if stop is not None and stop.is_set():
                return
            cols = reflect_indices(x - margin, x + tile_w + margin, width)
            probs = predict_tile(read_tile(rows, cols))
            if probs.shape[1:] != (tile_h, tile_w):
                raise StudioError(
                    f"model output {probs.shape[1]}x{probs.shape[2]}",
                    f"expected {tile_h}x{tile_w} for a {len(rows)}x{len(cols)} input (margin {margin})",
                )
            if band is None:
                band = np.zeros((probs.shape[0], tile_h, canvas_w), np.float32)
            band[:, :, x : x + tile_w] += probs * window
            done += 1
            if progress is not None:
                progress(done, total)
        weight_band += row_weights
        finished = (ys[row + 1] if row + 1 < len(ys) else canvas_h) - y
        keep = min(finished, height - y)
        if keep > 0:
            yield y, y + keep, band[:, :keep, :width] / weight_band[:keep, :width]
        for buffer in (band, weight_band):
            buffer[..., : tile_h - finished, :] = buffer[..., finished:, :]
            buffer[..., tile_h - finished :, :] = 0.0


def predict_probabilities(
    network: Network,
    image: np.ndarray,
    config: PredictConfig = DEFAULT_CONFIG,
    device: torch.device | str | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> np.ndarray | None:
    """Softmax probabilities float32 ``(K, H, W)`` of a normalised image float32 ``(C, H, W)``.

    ``network`` is an ``nn.Module`` or any tile function (see :func:`tile_function`); ``device=None``
    keeps a module where it is. Returns ``None`` when ``stop`` was set before the end.
    """
    image = np.asarray(image, np.float32)
    _, height, width = image.shape

    def read_tile(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return image[:, rows[:, None], cols[None, :]]

    output = None
    with tile_function(network, config, device) as predict_tile:
        for y0, y1, probs in iter_probability_bands(predict_tile, read_tile, height, width, config.tile,
                                                    config.overlap, stop, progress):
            if output is None:
                output = np.empty((probs.shape[0], height, width), np.float32)
            output[:, y0:y1] = probs
            if y1 == height:
                return output
    return None


def predict_mask(
    network: Network,
    pixels: np.ndarray,
    lo_hi: tuple[np.ndarray, np.ndarray],
    config: PredictConfig = DEFAULT_CONFIG,
    device: torch.device | str | None = None,
    threshold: float | None = None,
    foreground: str | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    fold: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Mask of a raw image ``(H, W, C)`` in bounded memory: tiles are normalised on the fly
    (``core.normalize.normalize_with_range``) with the image's global per-channel ranges ``lo_hi = (lo, hi)``
    and probabilities never exist for more than one band of rows.

    Returns ``(mask, foreground_probability)`` where the mask is the argmax (or, for two classes with a
    ``threshold``, ``p1 >= threshold``) and ``foreground="uint8"`` (0..255) or ``"float16"`` also keeps
    ``1 - p(background)``; ``None`` for the probability otherwise. Returns ``None`` when stopped. ``fold``
    maps each band's network outputs to class probabilities first (a touching-border network's extra output).
    """
    if foreground not in (None, "uint8", "float16"):
        raise StudioError(f"foreground {foreground!r}", "choose None, 'uint8' or 'float16'")
    height, width = pixels.shape[:2]
    lo, hi = lo_hi

    def read_tile(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return normalize_with_range(pixels[rows[:, None], cols[None, :]], lo, hi)

    mask = kept = None
    with tile_function(network, config, device) as predict_tile:
        for y0, y1, probs in iter_probability_bands(predict_tile, read_tile, height, width, config.tile,
                                                    config.overlap, stop, progress):
            probs = probs if fold is None else fold(probs)
            if mask is None:
                mask = np.empty((height, width), mask_dtype(probs.shape[0] - 1))
                kept = None if foreground is None else np.empty((height, width), np.dtype(foreground))
            mask[y0:y1] = classify_pixels(probs, threshold)
            if foreground == "uint8":
                kept[y0:y1] = np.rint((1.0 - probs[0]) * 255.0).clip(0, 255).astype(np.uint8)
            elif foreground == "float16":
                kept[y0:y1] = (1.0 - probs[0]).astype(np.float16)
            if y1 == height:
                return mask, kept
    return None
