"""TiledLabelItem: the labels overlay of a big image, drawn tile by tile from its ChunkedLabelBuffer.

The tile grid follows the image's: at a zoom whose pyramid level is downsampled by s, a label tile samples
every round(s)-th pixel of TILE * s level-0 pixels (nearest neighbour), so only the visible region is ever
read, and only the chunks that hold labels. A coarse tile over many labelled chunks is filled a few chunks
per paint (CHUNKS_PER_PAINT) so the event loop never waits long; an edit recolours just its rectangle inside
the tiles already drawn (a brush dab costs its own area). Coloured tiles live in a byte-bounded TileCache.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from unet_studio.gui.label_overlay import colour_table
from unet_studio.gui.tiled_grid import TILE, TileCache, TileKey, choose_level

LABEL_CACHE_BYTES = 96 * 2**20
CHUNKS_PER_PAINT = 16  # chunks read into coarse tiles per paint; the rest in the next ones


class _LabelTile:
    """Colours of one label tile, and the labelled chunks not yet drawn into it."""

    def __init__(self, origin: tuple[int, int], size: tuple[int, int], step: int, todo: list):
        self.origin, self.step, self.todo = origin, step, todo
        self.argb = np.zeros(size, np.uint32)
        h, w = size
        self.image = QImage(self.argb.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)


class TiledLabelItem(QGraphicsItem):
    """Label colours over a big image; one scene unit per level-0 pixel."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.buffer = None
        self.scales: tuple[float, ...] = (1.0,)
        self.cache = TileCache(LABEL_CACHE_BYTES)
        self._table = colour_table({}, np.uint8)

    def set_buffer(self, buffer, scales: tuple[float, ...], colors: dict) -> None:
        """Show the labels of `buffer` (None: nothing); `scales` are the image's pyramid factors."""
        self.prepareGeometryChange()
        self.buffer, self.scales = buffer, tuple(scales) or (1.0,)
        self.cache.clear()
        if buffer is not None:
            self._table = colour_table(colors, buffer.dtype)
        self.update()

    def set_colors(self, colors: dict) -> None:
        if self.buffer is not None:
            self._table = colour_table(colors, self.buffer.dtype)
            self.cache.clear()
            self.update()

    def boundingRect(self) -> QRectF:
        if self.buffer is None:
            return QRectF()
        return QRectF(0, 0, self.buffer.shape[1], self.buffer.shape[0])

    def step_for_zoom(self, zoom: float) -> int:
        """Level-0 pixels per label tile pixel at this zoom (the image level's factor, rounded)."""
        return max(1, round(self.scales[choose_level(self.scales, zoom)]))

    def _tile_rect(self, key: TileKey) -> tuple[int, int, int, int]:
        """(y0, x0, y1, x1) in level-0 pixels of a label tile (key.level holds its step)."""
        span = TILE * key.level
        y0, x0 = key.ty * span, key.tx * span
        return y0, x0, min(self.buffer.shape[0], y0 + span), min(self.buffer.shape[1], x0 + span)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.buffer is None or not self.buffer.has_labels():
            return
        step = self.step_for_zoom(abs(painter.worldTransform().m11()))
        exposed = option.exposedRect.intersected(self.boundingRect())
        span = TILE * step
        budget = [CHUNKS_PER_PAINT]
        for ty in range(int(exposed.top() // span), math.ceil(exposed.bottom() / span)):
            for tx in range(int(exposed.left() // span), math.ceil(exposed.right() / span)):
                tile = self._tile(TileKey(step, ty, tx), budget)
                y0, x0, y1, x1 = self._tile_rect(TileKey(step, ty, tx))
                if tile is not None:
                    painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), tile.image)
        if budget[0] <= 0:
            QTimer.singleShot(0, self.update)  # more chunks to draw in

    def _tile(self, key: TileKey, budget: list) -> _LabelTile | None:
        """The tile (made on first use), with up to `budget` more of its chunks drawn in; None when empty."""
        tile = self.cache.get(key)
        if tile is None:
            y0, x0, y1, x1 = self._tile_rect(key)
            todo = self.buffer.chunks_with_labels(y0, y1, x0, x1)
            if not todo:
                return None
            size = (len(range(y0, y1, key.level)), len(range(x0, x1, key.level)))
            tile = _LabelTile((y0, x0), size, key.level, todo)
            self.cache.put(key, tile, tile.argb.nbytes)
        while tile.todo and budget[0] > 0:
            cy0, cx0, cy1, cx1 = self.buffer.chunk_bounds(tile.todo.pop())
            self._recolour(tile, (cy0, cx0, cy1, cx1))
            budget[0] -= 1
        return tile

    def _recolour(self, tile: _LabelTile, bbox: tuple[int, int, int, int]) -> None:
        """Draw the labels of bbox (level-0 pixels) into the tile (nothing when they do not meet)."""
        (ty0, tx0), step = tile.origin, tile.step
        h, w = tile.argb.shape
        y0 = ty0 + max(0, -(-(bbox[0] - ty0) // step)) * step  # first sampled row at or after bbox
        x0 = tx0 + max(0, -(-(bbox[1] - tx0) // step)) * step
        y1, x1 = min(bbox[2], ty0 + h * step), min(bbox[3], tx0 + w * step)
        if y0 >= y1 or x0 >= x1:
            return
        colours = self._table[self.buffer.read(y0, y1, x0, x1, step)]
        oy, ox = (y0 - ty0) // step, (x0 - tx0) // step
        tile.argb[oy:oy + colours.shape[0], ox:ox + colours.shape[1]] = colours

    def refresh(self, bbox: tuple[int, int, int, int] | None) -> None:
        """Labels changed in bbox (None: anywhere): recolour that part of the tiles drawn, repaint it."""
        if self.buffer is None:
            return
        if bbox is None:
            self.cache.clear()
            self.update()
            return
        for key in self.cache.keys():
            self._recolour(self.cache.get(key), bbox)
        y0, x0, y1, x1 = bbox
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))
