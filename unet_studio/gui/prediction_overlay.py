"""The prediction overlay: the predicted mask drawn as outlines (or filled) over the image and labels.

It is a separate item from the annotation overlay, with its own opacity and a distinct look (outlines in
each class's colour, or one highlight colour for every class), so predictions are never mistaken for labels.
Predicted pixels the labels already agree with (accepted, or painted the same) are drawn solid; pending
ones, not in the labels yet, dashed (hatched when filled). Outlines include the image border, so a region
that fills the whole image still shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGraphicsItem

from unet_studio.gui.label_overlay import LabelOverlayItem

HIGHLIGHT_RGB = (255, 230, 0)
Z_VALUE = 1.5  # above the annotation overlay (1), below tool previews (2)
DASH = 2  # pending pixels are drawn in a checkerboard of DASH x DASH blocks: dashes along outlines
LEGEND = "Prediction: solid = accepted (in your labels), dashed = pending"


def pending_pixels(mask: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Predicted object pixels whose label is not the predicted class yet (mask k <-> label k + 1)."""
    if labels is None or labels.shape != mask.shape:
        return mask != 0
    return (mask != 0) & (labels.astype(np.int64) != mask.astype(np.int64) + 1)


def dash_pattern(bbox: tuple[int, int, int, int]) -> np.ndarray:
    """True on the drawn blocks of the pending pattern inside bbox (image coordinates)."""
    y0, x0, y1, x1 = bbox
    rows = (np.arange(y0, y1) // DASH)[:, None]
    cols = (np.arange(x0, x1) // DASH)[None, :]
    return (rows + cols) % 2 == 0


class PredictionOverlayItem(LabelOverlayItem):
    """Shows a PredictionState's mask; refreshed whenever the prediction changes."""

    def __init__(self, state, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setZValue(Z_VALUE)
        self.setOpacity(0.9)
        self.state = state
        self.outline = True
        self.outline_image_edge = True
        self.single_colour = False
        self.setToolTip(LEGEND)
        state.prediction_changed.connect(self._on_state_prediction_changed)
        state.document.classes_changed.connect(self._on_state_prediction_changed)
        state.document.annotation_changed.connect(self.refresh)  # accepting turns pending pixels solid

    def colours(self) -> dict[int, tuple[int, int, int]]:
        """Mask value k (class k) -> the colour of annotation value k + 1, or the highlight colour."""
        by_value = self.state.document.class_colours()
        return {value - 1: (HIGHLIGHT_RGB if self.single_colour else rgb)
                for value, rgb in by_value.items() if value > 1}

    def set_single_colour(self, single: bool) -> None:
        self.single_colour = bool(single)
        self._on_state_prediction_changed()

    @property
    def mask(self) -> np.ndarray | None:
        return self._labels

    def _style(self, colours: np.ndarray, bbox: tuple[int, int, int, int]) -> None:
        """Pending pixels keep only the dashed blocks of their colour."""
        y0, x0, y1, x1 = bbox
        labels = self.state.document.labels
        mask = self._labels[y0:y1, x0:x1]
        own = labels[y0:y1, x0:x1] if labels is not None and labels.shape == self._labels.shape else None
        colours[pending_pixels(mask, own) & ~dash_pattern(bbox)] = 0

    def _on_state_prediction_changed(self, *_args) -> None:
        mask = self.state.mask
        if mask is None:
            self.set_labels(None, {})
        else:
            self.set_labels(mask, self.colours())
        self.update()
