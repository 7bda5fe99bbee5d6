"""TiledImageItem: draws a multiscale (pyramidal) image tile by tile at the pyramid level the zoom needs.

Each paint picks the level (tiled_grid.choose_level: never level 0 while zoomed out), draws the cached
tiles of the exposed rectangle and asks the TileLoader for the missing ones; until they arrive the
tile of the nearest coarser level already cached is drawn scaled up in their place. The display tiles live
in a TileCache bounded in bytes, so memory stays flat however far the user pans. Contrast is one fixed
(lo, hi) per channel, measured once on the coarsest level, and applied to every tile as it loads.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from unet_studio.gui.display import DisplaySettings, channel_ranges
from unet_studio.gui.tiled_grid import (
    CACHE_BYTES, TileCache, choose_level, covering_tile, tile_scene_rect, tiles_in_rect,
)
from unet_studio.gui.tiled_loader import TileLoader

STATS_SIDE = 2048  # contrast is measured on at most this many pixels per side of the coarsest level
MAX_TILES_PER_VIEW = 256  # more tiles than this in view (no pyramid level for the zoom): none are read


def contrast_sample(source) -> np.ndarray:
    """(h, w, C) pixels of the coarsest level (its central STATS_SIDE square at most) for the contrast."""
    level = len(source.levels) - 1
    h, w = source.levels[level]
    y0, x0 = max(0, (h - STATS_SIDE) // 2), max(0, (w - STATS_SIDE) // 2)
    raw = np.asarray(source.read(level, y0, min(h, y0 + STATS_SIDE), x0, min(w, x0 + STATS_SIDE)))
    return raw[:, :, None] if raw.ndim == 2 else raw


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage over a contiguous uint8 (h, w) grey or (h, w, 3) RGB array (keep the array alive)."""
    h, w = pixels.shape[:2]
    if pixels.ndim == 3:
        return QImage(pixels.data, w, h, w * 3, QImage.Format.Format_RGB888)
    return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8)


class TiledImageItem(QGraphicsItem):
    """The image of a multiscale source; one scene unit per level-0 pixel."""

    def __init__(self, cache_bytes: int = CACHE_BYTES):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.source = None
        self.loader: TileLoader | None = None
        self.cache = TileCache(cache_bytes)
        self.ranges: list[tuple[float, float]] = []
        self._sample = None  # the coarsest level's pixels the contrast is measured on
        self.level_shown: int | None = None  # the level the last paint chose
        self.errors: list[str] = []  # tiles that could not be read (one line each)

    def set_source(self, source, settings: DisplaySettings) -> None:
        """Show a multiscale source (None: nothing), with `settings` for the contrast."""
        self.prepareGeometryChange()
        if self.loader is not None:
            self.loader.shutdown()
            self.loader.deleteLater()
        self.source, self.loader, self.level_shown, self._sample = source, None, None, None
        self.cache.clear()
        if source is None:
            return
        self._sample = contrast_sample(source)
        self.ranges = channel_ranges(self._sample, settings)
        self.loader = TileLoader(source, settings, self.ranges)
        self.loader.on_tile = self._on_loader_tile
        self.loader.tile_failed.connect(self.errors.append)
        self.update()

    def set_settings(self, settings: DisplaySettings) -> None:
        """New contrast / channel: tiles are loaded again with it."""
        if self.source is None:
            return
        self.ranges = channel_ranges(self._sample, settings)
        self.loader.reset(settings, self.ranges)
        self.cache.clear()
        self.update()

    @property
    def scales(self) -> tuple[float, ...]:
        return tuple(self.source.level_scale(i) for i in range(len(self.source.levels)))

    def boundingRect(self) -> QRectF:
        if self.source is None:
            return QRectF()
        h, w = self.source.levels[0]
        return QRectF(0, 0, w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.source is None:
            return
        levels = self.source.levels
        level = choose_level(self.scales, abs(painter.worldTransform().m11()))
        self.level_shown = level
        exposed = option.exposedRect.intersected(self.boundingRect())
        keys = tiles_in_rect(levels, level, (exposed.x(), exposed.y(), exposed.width(), exposed.height()))
        if len(keys) > MAX_TILES_PER_VIEW:
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(exposed, Qt.AlignmentFlag.AlignCenter, "No pyramid level for this zoom: zoom in")
            return
        self.loader.set_wanted(self._wanted(level))
        for key in keys:
            tile = self.cache.get(key)
            if tile is None:
                self.loader.request(key)
                self._draw_coarser(painter, key)
            else:
                painter.drawImage(QRectF(*tile_scene_rect(levels, key)), tile[1])

    def _wanted(self, level: int) -> list:
        """The tiles of `level` in the whole visible part of the view (not only this paint's rectangle)."""
        views = self.scene().views() if self.scene() is not None else []
        if not views:
            return []
        view = views[0]
        rect = view.mapToScene(view.viewport().rect()).boundingRect().intersected(self.boundingRect())
        return tiles_in_rect(self.source.levels, level, (rect.x(), rect.y(), rect.width(), rect.height()))

    def _draw_coarser(self, painter: QPainter, key) -> None:
        """Fill a missing tile's place with the nearest coarser cached tile, scaled up."""
        levels = self.source.levels
        target = QRectF(*tile_scene_rect(levels, key))
        for coarser in range(key.level + 1, len(levels)):
            tile = self.cache.get(covering_tile(levels, key, coarser))
            if tile is not None:
                painter.save()
                painter.setClipRect(target)
                painter.drawImage(QRectF(*tile_scene_rect(levels, covering_tile(levels, key, coarser))), tile[1])
                painter.restore()
                return

    def _on_loader_tile(self, key, pixels: np.ndarray) -> None:
        self.cache.put(key, (pixels, to_qimage(pixels)), pixels.nbytes)
        self.update(QRectF(*tile_scene_rect(self.source.levels, key)))
