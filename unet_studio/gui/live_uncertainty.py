"""Where to paint next: per-pixel uncertainty of the live preview, as numbers and as an overlay.

Uncertainty is the normalised entropy of the class probabilities, -sum p log p / log K, from 0 (one class
certain) to 1 (all classes equally likely). The worker thread computes it (`uncertainty_map`, uint8 0..255)
with each preview and `mean_uncertainty` for the browser's "most uncertain first" order; the overlay only
colours the uint8 map, a rectangle at a time, like the label overlay.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

from unet_studio.gui.label_overlay import LabelOverlayItem

UNCERTAIN_RGB = (255, 0, 200)
MAX_ALPHA = 200  # the most uncertain pixels still let the image through
Z_VALUE = 1.7  # above the prediction overlay (1.5), below tool previews (2)
LEGEND = "Uncertainty: the brighter, the less sure the model is (paint there next)"


def normalised_entropy(probabilities: np.ndarray) -> np.ndarray:
    """float32 (H, W) in 0..1 of probabilities (K, H, W); zeros for one class."""
    k = probabilities.shape[0]
    if k < 2:
        return np.zeros(probabilities.shape[1:], np.float32)
    p = np.clip(probabilities.astype(np.float32, copy=False), 1e-7, 1.0)
    entropy = -(p * np.log(p)).sum(axis=0)
    return np.clip(entropy / np.float32(np.log(k)), 0.0, 1.0)


def uncertainty_map(probabilities: np.ndarray) -> np.ndarray:
    """uint8 (H, W): the normalised entropy scaled to 0..255 (what the overlay shows)."""
    return np.rint(normalised_entropy(probabilities) * 255).astype(np.uint8)


def mean_uncertainty(probabilities: np.ndarray) -> float:
    """The image's mean normalised entropy: how unsure the model is about it as a whole."""
    return float(normalised_entropy(probabilities).mean())


class PlaneTurns:
    """Scoring stacks a plane at a time: which plane of each image to score next (0, 1, ... round again),
    and each image's score, its most uncertain plane's latest score."""

    def __init__(self):
        self._next: dict[str, int] = {}
        self._scores: dict[str, dict[int, float]] = {}

    def next_plane(self, image_id: str) -> int:
        return self._next.get(image_id, 0)

    def record(self, image_id: str, plane: int, n_planes: int, score: float) -> float:
        """Keep `score` for `plane` of an image of `n_planes` planes; the image's score now."""
        self._next[image_id] = (plane + 1) % max(1, n_planes)
        scores = self._scores.setdefault(image_id, {})
        scores[plane] = score
        return max(scores.values())

    def forget(self, image_id: str) -> None:
        """Start the image again at plane 0 with no scores (its file could not be read)."""
        self._next.pop(image_id, None)
        self._scores.pop(image_id, None)


def ramp_table() -> np.ndarray:
    """Premultiplied ARGB32 per uint8 level: alpha grows with the uncertainty, 0 is transparent."""
    levels = np.arange(256, dtype=np.uint32)
    alpha = levels * MAX_ALPHA // 255
    r, g, b = (np.uint32(c) * alpha // 255 for c in UNCERTAIN_RGB)
    return (alpha << 24) | (r << 16) | (g << 8) | b


class UncertaintyOverlayItem(LabelOverlayItem):
    """Shows a PredictionState's uncertainty map (hidden until toggled on)."""

    def __init__(self, state, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setZValue(Z_VALUE)
        self.setToolTip(LEGEND)
        self.setVisible(False)
        self.state = state
        state.prediction_changed.connect(self._on_state_prediction_changed)
        state.region_changed.connect(self._on_state_region_changed)

    def set_labels(self, labels: np.ndarray | None, colors: dict[int, tuple[int, int, int]]) -> None:
        """Show a uint8 uncertainty map (kept by reference, like labels); `colors` is not used."""
        self.prepareGeometryChange()
        self._labels = labels
        self._table = ramp_table()
        self._buffer = np.zeros((0, 0), np.uint32) if labels is None else self._table[labels]
        h, w = self._buffer.shape
        self._image = QImage() if labels is None else \
            QImage(self._buffer.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        self.update()

    def _on_state_prediction_changed(self, *_args) -> None:
        self.set_labels(self.state.uncertainty, {})

    def _on_state_region_changed(self, region) -> None:
        if self._labels is not self.state.uncertainty:
            self._on_state_prediction_changed()
        else:
            self.refresh(region)
