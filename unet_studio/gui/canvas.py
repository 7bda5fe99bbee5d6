"""The canvas: a QGraphicsView showing the image, the labels overlay, the brush ring and tool previews.

One scene unit is one image pixel: pixel (row i, column j) covers [j, j+1) x [i, i+1) in the scene.
Wheel zooms at the cursor, the middle button or space + left drag pans. Everything else a mouse does
is handed to the tool controller (`tool_handler`), which speaks scene coordinates; a Ctrl/Alt+left press
goes to its `pick` when it has one (the object brush picks the object to continue). Object outlines
(`objects`) are drawn over the labels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QStyleOptionGraphicsItem,
    QWidget,
)

from unet_studio.gui.label_overlay import LabelOverlayItem
from unet_studio.gui.object_outlines import ObjectOutlineItem
from unet_studio.gui.tiled_image import TiledImageItem
from unet_studio.gui.tiled_labels import TiledLabelItem

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.0015  # zoom factor per wheel angle unit: one notch (120) is about 20 %


class ImageItem(QGraphicsItem):
    """Draws a display-ready uint8 array ((H, W) grey or (H, W, 3) RGB), only the exposed part."""

    def __init__(self):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._pixels = np.zeros((0, 0), np.uint8)
        self._image = QImage()

    def set_pixels(self, pixels: np.ndarray | None) -> None:
        """Show new display pixels (the array is kept alive while shown)."""
        self.prepareGeometryChange()
        if pixels is None:
            self._pixels, self._image = np.zeros((0, 0), np.uint8), QImage()
            return
        self._pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        h, w = self._pixels.shape[:2]
        if self._pixels.ndim == 3:
            fmt, stride = QImage.Format.Format_RGB888, w * 3
        else:
            fmt, stride = QImage.Format.Format_Grayscale8, w
        self._image = QImage(self._pixels.data, w, h, stride, fmt)
        self.update()

    @property
    def pixels(self) -> np.ndarray:
        """The display pixels shown now."""
        return self._pixels

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._pixels.shape[1], self._pixels.shape[0])

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        exposed = option.exposedRect.intersected(self.boundingRect()).toAlignedRect()
        if not exposed.isEmpty():
            painter.drawImage(exposed, self._image, exposed)


class ImageCanvas(QGraphicsView):
    """Image + labels view with zoom at the cursor, pan, fit and 1:1."""

    cursor_moved = Signal(float, float)  # image (row, column) in pixel units, floats
    cursor_left = Signal()
    zoom_changed = Signal(float)  # percent

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("canvas")
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(scene)
        self.image_item = ImageItem()
        self.tiled = TiledImageItem()  # a big image's pyramid, tile by tile (instead of image_item)
        self.overlay = LabelOverlayItem()
        self.overlay.setZValue(1)
        self.tiled_labels = TiledLabelItem(self.overlay)  # a big image's labels; the overlay's opacity applies
        self.objects = ObjectOutlineItem()
        self.objects.setZValue(1.5)
        self.preview = QGraphicsPathItem()
        self.preview.setZValue(2)
        self.preview.setPen(_cosmetic_pen(QColor(255, 255, 0)))
        self.brush_ring = QGraphicsEllipseItem()
        self.brush_ring.setZValue(3)
        self.brush_ring.setPen(_cosmetic_pen(QColor(255, 255, 255)))
        self.brush_ring.setVisible(False)
        for item in (self.image_item, self.tiled, self.overlay, self.objects, self.preview, self.brush_ring):
            scene.addItem(item)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QBrush(QColor(30, 30, 30)))
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tool_handler = None
        self.ring_diameter = 0.0
        self._space_held = False
        self._pan_from: QPoint | None = None
        self._auto_fit = True  # keep fitting on resize until the user zooms
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self.message = QLabel(self.viewport())
        self.message.setObjectName("canvasMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ddd; font-size: 14px;")
        self.message.hide()
        self.hint = QLabel(self.viewport())
        self.hint.setObjectName("canvasHint")
        self.hint.setStyleSheet("color: white; background: rgba(0, 0, 0, 160); padding: 3px 6px;")
        self.hint.hide()

    # ----- content
    def set_display(self, pixels: np.ndarray | None) -> None:
        """Show new display pixels; a new image size resets the scene and fits the view."""
        old_size = self._content_rect().size()
        if self.tiled.source is not None:
            self.set_big_image(None)
        self.image_item.set_pixels(pixels)
        self._content_changed(old_size)

    def set_big_image(self, big, settings=None, colors: dict | None = None) -> None:
        """Show a big image (the document's BigImage: pyramid tiles, chunked labels) or none; a new size fits."""
        if big is not None and big.source is self.tiled.source:  # same image, new contrast
            self.tiled.set_settings(settings)
            return
        old_size = self._content_rect().size()
        if big is not None:
            self.image_item.set_pixels(None)
        self.tiled.set_source(None if big is None else big.source, settings)
        self.tiled_labels.set_buffer(None if big is None else big.buffer, () if big is None else big.scales,
                                     colors or {})
        self._content_changed(old_size)

    def _content_rect(self) -> QRectF:
        return self.tiled.boundingRect() if self.tiled.source is not None else self.image_item.boundingRect()

    def _content_changed(self, old_size) -> None:
        rect = self._content_rect()
        if rect.size() != old_size:
            self._auto_fit = True
            margin_x, margin_y = rect.width(), rect.height()
            self.setSceneRect(rect.adjusted(-margin_x, -margin_y, margin_x, margin_y))
            self.fit()

    def show_message(self, text: str) -> None:
        """A line of text in the middle of the view (why there is no image); empty hides it."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self._place_message()

    def show_hint(self, text: str) -> None:
        """A short how-to line at the bottom left of the view (e.g. how to close a lasso); empty hides it."""
        self.hint.setText(text)
        self.hint.adjustSize()
        self.hint.setVisible(bool(text))
        self._place_message()

    def _place_message(self) -> None:
        self.message.setGeometry(self.viewport().rect().adjusted(20, 20, -20, -20))
        self.hint.move(8, max(0, self.viewport().height() - self.hint.height() - 8))

    def set_ring_diameter(self, diameter: float) -> None:
        """Brush ring size in image pixels (so it scales with the zoom)."""
        self.ring_diameter = float(diameter)
        self.brush_ring.setRect(QRectF(-diameter / 2, -diameter / 2, diameter, diameter))

    def set_preview(self, points: list[QPointF], closed: bool = False) -> None:
        """Polygon / lasso preview through scene points."""
        path = QPainterPath()
        if points:
            path.moveTo(points[0])
            for point in points[1:]:
                path.lineTo(point)
            if closed:
                path.closeSubpath()
        self.preview.setPath(path)

    # ----- zoom
    @property
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by factor keeping the scene point under `anchor` (viewport coordinates) in place."""
        self._auto_fit = False
        factor = min(max(self.zoom * factor, MIN_ZOOM), MAX_ZOOM) / self.zoom
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        self.scale(factor, factor)
        after = self.mapFromScene(before)
        delta = after - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.zoom_changed.emit(self.zoom * 100)

    def fit(self) -> None:
        """Show the whole image."""
        rect = self._content_rect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom * 100)

    def actual_size(self) -> None:
        """One screen pixel per image pixel, keeping the view centre."""
        self._auto_fit = False
        centre = self.mapToScene(self.viewport().rect().center())
        self.resetTransform()
        self.centerOn(centre)
        self.zoom_changed.emit(self.zoom * 100)

    # ----- events
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_message()
        if self._auto_fit:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(WHEEL_STEP ** event.angleDelta().y(), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        panning = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        )
        if panning:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self.tool_handler is not None:
            point = self.mapToScene(event.position().toPoint())
            picking = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
            if picking and hasattr(self.tool_handler, "pick"):
                self.tool_handler.pick(point)
            else:
                self.tool_handler.press(point)
        event.accept()

    def enterEvent(self, event) -> None:
        self._take_focus()
        super().enterEvent(event)

    def _take_focus(self) -> None:
        """Keys go to the canvas whenever the pointer is over it: after typing in a spin box, `]` over the
        canvas resizes the brush without a click first. Never from an open popup or another window."""
        if self.hasFocus() or QApplication.activePopupWidget() is not None:
            return
        focus = QApplication.focusWidget()
        if focus is None or focus.window() is self.window():
            self.setFocus(Qt.FocusReason.MouseFocusReason)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._take_focus()
        view_pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = view_pos - self._pan_from
            self._pan_from = view_pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        scene_pos = self.mapToScene(view_pos)
        self.brush_ring.setPos(scene_pos)
        self.brush_ring.setVisible(self.ring_diameter > 0)
        if self.tool_handler is not None:
            self.tool_handler.move(scene_pos, bool(event.buttons() & Qt.MouseButton.LeftButton))
        self.cursor_moved.emit(scene_pos.y(), scene_pos.x())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.CrossCursor)
        elif event.button() == Qt.MouseButton.LeftButton and self.tool_handler is not None:
            self.tool_handler.release(self.mapToScene(event.position().toPoint()))
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.tool_handler is not None:
            self.tool_handler.double_click(self.mapToScene(event.position().toPoint()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_held = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if self.tool_handler is not None and self.tool_handler.key(event.key()):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.brush_ring.setVisible(False)
        self.cursor_left.emit()
        super().leaveEvent(event)


def _cosmetic_pen(colour: QColor) -> QPen:
    """A one-screen-pixel pen whatever the zoom."""
    pen = QPen(colour)
    pen.setCosmetic(True)
    pen.setWidth(1)
    return pen
