"""Tile arithmetic for multiscale images: which pyramid level a zoom shows, which tiles a view needs, and a
tile cache bounded in bytes. Qt-free, so the loader thread and the tests use it as plain Python.

Scene units are level-0 pixels (as for small images). A tile is `TILE` x `TILE` pixels of one level; tile
(ty, tx) of a level with downsample factors (sy, sx) covers scene rows ty*TILE*sy .. (ty+1)*TILE*sy.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

TILE = 512  # pixels per tile side at its own level
CACHE_BYTES = 256 * 2**20  # display tiles kept (uint8 grey / RGB), least recently used dropped first


@dataclass(frozen=True)
class TileKey:
    """One tile: pyramid level and tile row / column at that level."""

    level: int
    ty: int
    tx: int


def choose_level(scales: tuple[float, ...], zoom: float) -> int:
    """The level whose downsample factor is the largest <= 1 / zoom (screen pixels per level-0 pixel), so a
    screen pixel never shows less than one level pixel; level 0 only when zoomed in to 100 % or more."""
    wanted = 1.0 / max(zoom, 1e-9)
    best = 0
    for level, scale in enumerate(scales):
        if scale <= wanted * (1 + 1e-6) and scale >= scales[best]:
            best = level
    return best


def level_factors(levels: tuple[tuple[int, int], ...], level: int) -> tuple[float, float]:
    """(sy, sx): level-0 pixels per pixel of `level`, per axis."""
    (h0, w0), (h, w) = levels[0], levels[level]
    return h0 / h, w0 / w


def tile_bounds(levels: tuple[tuple[int, int], ...], key: TileKey, tile: int = TILE) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the tile in its level's pixels, clipped to the level."""
    h, w = levels[key.level]
    y0, x0 = key.ty * tile, key.tx * tile
    return y0, min(h, y0 + tile), x0, min(w, x0 + tile)


def tile_scene_rect(levels, key: TileKey, tile: int = TILE) -> tuple[float, float, float, float]:
    """(x, y, width, height) the tile covers in scene (level-0) units."""
    sy, sx = level_factors(levels, key.level)
    y0, y1, x0, x1 = tile_bounds(levels, key, tile)
    return x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy


def tiles_in_rect(levels, level: int, rect: tuple[float, float, float, float], tile: int = TILE) -> list[TileKey]:
    """The tiles of `level` that overlap the scene rect (x, y, width, height), row by row."""
    sy, sx = level_factors(levels, level)
    h, w = levels[level]
    x, y, width, height = rect
    ty0, ty1 = max(0, math.floor(y / sy / tile)), min(math.ceil(h / tile), math.ceil((y + height) / sy / tile))
    tx0, tx1 = max(0, math.floor(x / sx / tile)), min(math.ceil(w / tile), math.ceil((x + width) / sx / tile))
    return [TileKey(level, ty, tx) for ty in range(ty0, ty1) for tx in range(tx0, tx1)]


def covering_tile(levels, key: TileKey, coarser: int, tile: int = TILE) -> TileKey:
    """The tile of the coarser level that holds the top-left corner of `key` (a fallback while it loads)."""
    x, y, _, _ = tile_scene_rect(levels, key, tile)
    sy, sx = level_factors(levels, coarser)
    return TileKey(coarser, int(y / sy) // tile, int(x / sx) // tile)


class TileCache:
    """Least-recently-used map of tiles, bounded by the bytes of the values' `nbytes`."""

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self.nbytes = 0

    def get(self, key):
        """The value (now most recently used), or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key, value, nbytes: int) -> None:
        """Add or replace; drops the least recently used entries while over the bound."""
        self.pop(key)
        self._items[key], self._sizes[key] = value, int(nbytes)
        self.nbytes += int(nbytes)
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            self.pop(next(iter(self._items)))

    def pop(self, key) -> None:
        if key in self._items:
            del self._items[key]
            self.nbytes -= self._sizes.pop(key)

    def keys(self) -> list:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._sizes.clear()
        self.nbytes = 0
