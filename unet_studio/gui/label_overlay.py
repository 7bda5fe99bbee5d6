"""The labels overlay: an ARGB32 QImage backed by a numpy buffer, refreshed one rectangle at a time.

A brush dab recolours only its bounding box (a colour lookup on that box) and asks the scene to repaint
only that rectangle, so painting cost depends on the brush area, not on the image size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

UNKNOWN_CLASS_RGB = (200, 200, 200)


def colour_table(colors: dict[int, tuple[int, int, int]], dtype: np.dtype, alpha: int = 255) -> np.ndarray:
    """Premultiplied ARGB32 value per label value; 0 (unlabelled) is transparent."""
    size = 256 if np.dtype(dtype).itemsize == 1 else 65536
    table = np.empty(size, np.uint32)
    table[:] = _argb(UNKNOWN_CLASS_RGB, alpha)
    for value, rgb in colors.items():
        if 0 < value < size:
            table[value] = _argb(rgb, alpha)
    table[0] = 0
    return table


def _argb(rgb: tuple[int, int, int], alpha: int) -> int:
    r, g, b = (int(c) * alpha // 255 for c in rgb)
    return (alpha << 24) | (r << 16) | (g << 8) | b


def outline_mask(labels: np.ndarray, bbox: tuple[int, int, int, int], image_edge: bool = False) -> np.ndarray:
    """Labelled pixels inside bbox that have a 4-neighbour with another value; with `image_edge` the pixels
    on the image border count too (so a region filling the whole image still has an outline)."""
    y0, x0, y1, x1 = bbox
    h, w = labels.shape
    cy0, cx0, cy1, cx1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
    context = labels[cy0:cy1, cx0:cx1]
    pad = ((int(cy0 == y0), int(cy1 == y1)), (int(cx0 == x0), int(cx1 == x1)))
    if image_edge:  # zeros outside the image: every labelled border pixel is an edge
        padded = np.pad(context, pad, mode="constant", constant_values=0)
    else:  # edge copies: the image border is not an outline
        padded = np.pad(context, pad, mode="edge")
    inner = padded[1:-1, 1:-1]  # exactly the bbox
    edge = (
        (inner != padded[:-2, 1:-1])
        | (inner != padded[2:, 1:-1])
        | (inner != padded[1:-1, :-2])
        | (inner != padded[1:-1, 2:])
    )
    return edge & (inner != 0)


class LabelOverlayItem(QGraphicsItem):
    """Draws the label array in class colours over the image; one scene unit per pixel."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._labels: np.ndarray | None = None
        self._table = colour_table({}, np.uint8)
        self._buffer = np.zeros((0, 0), np.uint32)
        self._image = QImage()
        self.outline = False
        self.outline_image_edge = False  # whether the image border is part of a region's outline

    @property
    def buffer(self) -> np.ndarray:
        """The ARGB32 pixels behind the QImage (kept alive as long as the image)."""
        return self._buffer

    def set_labels(self, labels: np.ndarray | None, colors: dict[int, tuple[int, int, int]]) -> None:
        """Show a new label array (kept by reference: edits to it show after `refresh`)."""
        self.prepareGeometryChange()
        self._labels = labels
        if labels is None:
            self._buffer = np.zeros((0, 0), np.uint32)
            self._image = QImage()
            return
        self._table = colour_table(colors, labels.dtype)
        h, w = labels.shape
        self._buffer = np.zeros((h, w), np.uint32)
        self._image = QImage(self._buffer.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        if labels.any():  # a new annotation is all zeros: the zeroed buffer is already right
            self.refresh(None)

    def set_colors(self, colors: dict[int, tuple[int, int, int]]) -> None:
        """Recolour all classes (class list edits)."""
        if self._labels is not None:
            self._table = colour_table(colors, self._labels.dtype)
            self.refresh(None)

    def set_outline(self, outline: bool) -> None:
        """Switch between filled regions and outlines only."""
        self.outline = outline
        self.refresh(None)

    def refresh(self, bbox: tuple[int, int, int, int] | None) -> None:
        """Recolour the buffer inside bbox (None = everything) and repaint only that rectangle."""
        if self._labels is None:
            return
        h, w = self._labels.shape
        if bbox is None:
            bbox = (0, 0, h, w)
        if self.outline:  # a change moves the outline of the neighbouring pixels too
            bbox = (bbox[0] - 1, bbox[1] - 1, bbox[2] + 1, bbox[3] + 1)
        y0, x0, y1, x1 = max(0, bbox[0]), max(0, bbox[1]), min(h, bbox[2]), min(w, bbox[3])
        if y0 >= y1 or x0 >= x1:
            return
        region = self._labels[y0:y1, x0:x1]
        colours = self._table[region]
        if self.outline:
            colours[~outline_mask(self._labels, (y0, x0, y1, x1), self.outline_image_edge)] = 0
        self._style(colours, (y0, x0, y1, x1))
        self._buffer[y0:y1, x0:x1] = colours
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def _style(self, colours: np.ndarray, bbox: tuple[int, int, int, int]) -> None:
        """Subclasses may change the ARGB colours of bbox in place before they are shown."""

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._buffer.shape[1], self._buffer.shape[0])

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if exposed.isEmpty():
            return
        painter.drawImage(exposed, self._image, exposed)
