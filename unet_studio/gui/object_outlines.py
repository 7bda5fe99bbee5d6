"""Object outlines over the labels: each object of the instance layer drawn as a contour in its own colour.

Like the label overlay, an ARGB32 buffer recoloured one rectangle at a time, so a stroke costs what its
bounding box costs, never the image size; the buffer is made only once the image has objects. An id shows
only where the class labels hold an object class (the rule the saved instance layer follows), and two
touching objects each get their own contour, so where one ends and the next begins is visible.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from unet_studio.core.annotations import BACKGROUND
from unet_studio.gui.label_overlay import outline_mask


def _palette(n: int = 24) -> np.ndarray:
    """Opaque ARGB32 colours whose hues step by the golden ratio: consecutive ids differ clearly."""
    colours = []
    for k in range(n):
        r, g, b = colorsys.hsv_to_rgb((k * 0.618034) % 1.0, 0.85, 1.0)
        colours.append((255 << 24) | (int(r * 255) << 16) | (int(g * 255) << 8) | int(b * 255))
    return np.array(colours, np.uint32)


PALETTE = _palette()


def object_colour(object_id: int) -> int:
    """The ARGB32 colour an object's outline is drawn in."""
    return int(PALETTE[object_id % PALETTE.size])


def outline_colours(labels: np.ndarray, ids: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """ARGB32 pixels of bbox: the edge pixels of each object (a 4-neighbour in another object or none; the
    image border counts as an edge) in the object's colour, 0 elsewhere."""
    y0, x0, y1, x1 = bbox
    h, w = labels.shape
    cy0, cx0, cy1, cx1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
    context = labels[cy0:cy1, cx0:cx1]
    objects = np.where(context > BACKGROUND, ids[cy0:cy1, cx0:cx1], 0)
    inner = (y0 - cy0, x0 - cx0, y1 - cy0, x1 - cx0)
    edge = outline_mask(objects, inner, image_edge=True)
    inside = objects[inner[0]:inner[2], inner[1]:inner[3]]
    return np.where(edge, PALETTE[inside % PALETTE.size], np.uint32(0))


class ObjectOutlineItem(QGraphicsItem):
    """Draws the document's instance layer (an InstanceLayer, read at each refresh) as coloured contours."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._labels: np.ndarray | None = None
        self._layer = None
        self._buffer = np.zeros((0, 0), np.uint32)
        self._image = QImage()

    @property
    def buffer(self) -> np.ndarray:
        """The ARGB32 pixels shown (empty until the image has objects)."""
        return self._buffer

    def set_layers(self, labels: np.ndarray | None, layer) -> None:
        """Show the objects of a new image: its labels and its InstanceLayer (kept by reference)."""
        self.prepareGeometryChange()
        self._labels, self._layer = labels, layer
        self._buffer, self._image = np.zeros((0, 0), np.uint32), QImage()
        self.refresh(None)

    def refresh(self, bbox: tuple[int, int, int, int] | None) -> None:
        """Redraw the contours inside bbox (None = everything) and repaint only that rectangle."""
        ids = None if self._layer is None else self._layer.ids
        if self._labels is None or ids is None:
            return
        h, w = self._labels.shape
        if self._buffer.shape != (h, w):  # the first object: ids were 0 outside bbox, so bbox is enough
            self.prepareGeometryChange()
            self._buffer = np.zeros((h, w), np.uint32)
            self._image = QImage(self._buffer.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        bbox = (0, 0, h, w) if bbox is None else (bbox[0] - 1, bbox[1] - 1, bbox[2] + 1, bbox[3] + 1)
        y0, x0, y1, x1 = max(0, bbox[0]), max(0, bbox[1]), min(h, bbox[2]), min(w, bbox[3])
        if y0 >= y1 or x0 >= x1:
            return
        self._buffer[y0:y1, x0:x1] = outline_colours(self._labels, ids, (y0, x0, y1, x1))
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._buffer.shape[1], self._buffer.shape[0])

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if not exposed.isEmpty():
            painter.drawImage(exposed, self._image, exposed)
