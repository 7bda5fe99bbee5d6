"""Status bar: cursor position, pixel value(s) in the file's dtype, label under the cursor, zoom."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


def format_values(values: np.ndarray) -> str:
    """Pixel values as the file stores them: integers plainly, floats with 4 significant digits."""
    if values.dtype.kind == "f":
        return ", ".join(f"{v:.4g}" for v in values)
    return ", ".join(str(int(v)) for v in values)


def describe_cursor(document, row_f: float, col_f: float) -> tuple[str, str, str] | None:
    """(position, value(s), label) texts at a scene point, or None outside the image."""
    image, labels = document.image, document.labels
    if image is None and getattr(document, "big", None) is not None:
        return _describe_big(document, math.floor(row_f), math.floor(col_f))
    if image is None:
        return None
    row, col = math.floor(row_f), math.floor(col_f)
    if not (0 <= row < image.height and 0 <= col < image.width):
        return None
    values = format_values(image.pixels[row, col, :])
    dtype = image.pixels.dtype.name
    label = ""
    if labels is not None:
        value = int(labels[row, col])
        label = f"label {value}: {document.class_name(value)}"
    return f"x {col}  y {row}", f"{values} ({dtype})", label


def _describe_big(document, row: int, col: int) -> tuple[str, str, str] | None:
    """A big image: position and label (from the chunks in memory); its pixel values are not read per move."""
    buffer = document.big.buffer
    if not (0 <= row < buffer.shape[0] and 0 <= col < buffer.shape[1]):
        return None
    value = buffer.value_at(row, col)
    return f"x {col}  y {row}", f"({document.big.source.dtype.name})", f"label {value}: {document.class_name(value)}"


class StatusInfo(QStatusBar):
    """The window's status bar with fixed fields that follow the cursor and zoom."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.position = QLabel()
        self.value = QLabel()
        self.label = QLabel()
        self.zoom = QLabel()
        for name, widget in (("position", self.position), ("value", self.value), ("label", self.label),
                             ("zoom", self.zoom)):
            widget.setObjectName(f"status_{name}")
            self.addPermanentWidget(widget)

    def show_cursor(self, row: float, col: float) -> None:
        texts = describe_cursor(self.document, row, col)
        for widget, text in zip((self.position, self.value, self.label), texts or ("", "", "")):
            widget.setText(text)

    def clear_cursor(self) -> None:
        for widget in (self.position, self.value, self.label):
            widget.setText("")

    def show_zoom(self, percent: float) -> None:
        self.zoom.setText(f"{percent:.0f} %")
