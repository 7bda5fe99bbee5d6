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
    """Predicted object pixels whose label (same shape) is not the predicted class yet (mask k <-> label
    k + 1). No labels: every object pixel is pending."""
    if labels is None:
        return mask != 0
    return (mask != 0) & (labels != np.add(mask, 1, dtype=np.promote_types(mask.dtype, np.uint16)))


def dash_gaps(bbox: tuple[int, int, int, int]) -> np.ndarray:
    """True on the left-out blocks of the pending pattern inside bbox (a checkerboard of DASH x DASH
    pixel blocks in image coordinates, so it lines up across refreshed rectangles)."""
    y0, x0, y1, x1 = bbox
    rows = (np.arange(y0, y1) // DASH % 2).astype(bool)
    cols = (np.arange(x0, x1) // DASH % 2).astype(bool)
    return rows[:, None] != cols[None, :]


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
        state.region_changed.connect(self._on_state_region_changed)
        state.document.classes_changed.connect(self._on_state_prediction_changed)
        self._drawn_against = None  # the label array the whole prediction was last drawn against
        state.document.annotation_changed.connect(self._on_document_annotation_changed)

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
        own = labels[y0:y1, x0:x1] if labels is not None and labels.shape == self._labels.shape else None
        colours[pending_pixels(self._labels[y0:y1, x0:x1], own) & dash_gaps(bbox)] = 0

    def _on_document_annotation_changed(self, bbox) -> None:
        """Edited labels (accepting, painting) can turn pending pixels solid and back."""
        labels = self.state.document.labels
        if bbox is None and labels is self._drawn_against:
            return  # an image switch: already drawn against these labels when the prediction was shown
        self._drawn_against = labels
        self.refresh(bbox)

    def _on_state_region_changed(self, region) -> None:
        """A live preview piece pasted into the mask shown: redraw that rectangle only."""
        if self._labels is self.state.mask:
            self.refresh(region)
            self._say_step()
        else:
            self._on_state_prediction_changed()

    def _say_step(self) -> None:
        """The tooltip names the training step a live preview came from."""
        step = self.state.preview_step if self.state.is_preview else None
        self.setToolTip(LEGEND if step is None else f"{LEGEND}\nLive preview from training step {step}")

    def _on_state_prediction_changed(self, *_args) -> None:
        mask = self.state.mask
        if mask is None:
            self.set_labels(None, {})
        else:
            self.set_labels(mask, self.colours())
        self._drawn_against = self.state.document.labels
        self._say_step()
        self.update()
