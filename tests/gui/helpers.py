"""Helpers for GUI tests: small projects on disk and real mouse input on the canvas."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import make_blobs
from unet_studio.core.project import Project


def make_project(folder: Path, n_images: int = 3, size: int = 64, broken: bool = False) -> Project:
    """A project of `n_images` synthetic blob PNGs (plus a text file named .png when `broken`), with
    classes 1 background, 2 "object", 3 "object 2"."""
    images = folder / "images"
    images.mkdir(parents=True)
    paths = []
    for i in range(n_images):
        image, _ = make_blobs((size, size), seed=i)
        path = images / f"img_{i:02d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    if broken:
        bad = images / "broken.png"
        bad.write_text("this is not an image\n")
        paths.append(bad)
    project = Project.create(folder, paths)
    project.add_class("object 2")  # a second object class, so class keys and multi-class painting are covered
    return project


def view_point(canvas, row: float, col: float) -> QPoint:
    """Viewport position of the centre of image pixel (row, col)."""
    return canvas.mapFromScene(QPointF(col + 0.5, row + 0.5))


def _send(canvas, kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
    viewport = canvas.viewport()
    local = QPointF(pos)
    event = QMouseEvent(kind, local, QPointF(viewport.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(canvas, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> None:
    """Press at the first image point, move through the others with the button held, release at the last."""
    positions = [view_point(canvas, r, c) for r, c in points]
    _send(canvas, QEvent.Type.MouseButtonPress, positions[0], button, button)
    for pos in positions[1:]:
        _send(canvas, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, button)
    _send(canvas, QEvent.Type.MouseButtonRelease, positions[-1], button, Qt.MouseButton.NoButton)


def click(canvas, row: float, col: float, double: bool = False) -> None:
    """A left click (or double-click) on image pixel (row, col)."""
    pos = view_point(canvas, row, col)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(canvas, QEvent.Type.MouseButtonPress, pos, left, left)
    _send(canvas, QEvent.Type.MouseButtonRelease, pos, left, none)
    if double:
        _send(canvas, QEvent.Type.MouseButtonDblClick, pos, left, left)
        _send(canvas, QEvent.Type.MouseButtonRelease, pos, left, none)


def hover(canvas, row: float, col: float) -> None:
    """Move the mouse over image pixel (row, col) with no button held."""
    _send(canvas, QEvent.Type.MouseMove, view_point(canvas, row, col), Qt.MouseButton.NoButton,
          Qt.MouseButton.NoButton)


def disc_count(radius: float) -> int:
    """Pixels of a brush disc of this radius centred on a pixel."""
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return int((yy**2 + xx**2 <= radius**2).sum())
