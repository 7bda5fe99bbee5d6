"""The prediction overlay: the predicted mask drawn as outlines (or filled) over the image and labels.

It is a separate item from the annotation overlay, with its own opacity and a distinct look (outlines in
each class's colour, or one highlight colour for every class), so predictions are never mistaken for labels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGraphicsItem

from unet_studio.gui.label_overlay import LabelOverlayItem

HIGHLIGHT_RGB = (255, 230, 0)
Z_VALUE = 1.5  # above the annotation overlay (1), below tool previews (2)


class PredictionOverlayItem(LabelOverlayItem):
    """Shows a PredictionState's mask; refreshed whenever the prediction changes."""

    def __init__(self, state, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setZValue(Z_VALUE)
        self.setOpacity(0.9)
        self.state = state
        self.outline = True
        self.single_colour = False
        state.prediction_changed.connect(self._on_state_prediction_changed)
        state.document.classes_changed.connect(self._on_state_prediction_changed)

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

    def _on_state_prediction_changed(self, *_args) -> None:
        mask = self.state.mask
        if mask is None:
            self.set_labels(None, {})
        else:
            self.set_labels(mask, self.colours())
        self.update()
