"""The predictions the GUI shows: the current image's predicted mask, and foreground probabilities to
re-threshold two-class predictions without running the network again.

Masks are conventional (0 = background, 1..K = classes) and stored through Project.save_prediction.
Foreground probabilities are kept (float16) for the last few images predicted in this session only.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from unet_studio.core.errors import StudioError
from unet_studio.core.undo_patch import Patch

KEPT_PROBABILITIES = 8
SAVE_DELAY_MS = 400
DEFAULT_THRESHOLD = 0.5


def foreground(probabilities: np.ndarray | None) -> np.ndarray | None:
    """p(object) (H, W) float16 of a two-class (background, object) probability map, else None."""
    if probabilities is None or probabilities.ndim != 3 or probabilities.shape[0] != 2:
        return None
    return np.asarray(probabilities[1], np.float16)


class PredictionState(QObject):
    """Prediction of the document's current image; emits `prediction_changed(image_id)` when it changes."""

    prediction_changed = Signal(str)
    region_changed = Signal(object)  # (y0, x0, y1, x1) of the shown preview redrawn in place
    error_raised = Signal(str)

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.threshold = DEFAULT_THRESHOLD
        self.image_id: str | None = None
        self.mask: np.ndarray | None = None
        self.is_preview = False
        self.preview_step: int | None = None  # the training step whose weights made the shown preview
        self.uncertainty: np.ndarray | None = None  # uint8 (H, W) of the shown preview (live_uncertainty.py)
        self._foreground: OrderedDict[str, np.ndarray] = OrderedDict()
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        document.project_changed.connect(self._on_document_project_changed)
        document.image_changed.connect(self._on_document_image_changed)

    @property
    def can_rethreshold(self) -> bool:
        """The current prediction has probabilities for a threshold (two-class models, this session)."""
        return self.image_id in self._foreground

    def set_result(self, image_id: str, mask: np.ndarray, probabilities: np.ndarray | None) -> None:
        """A finished prediction: stored in the project and shown if it is the current image's."""
        fg = foreground(probabilities)
        if fg is not None:
            self._remember(image_id, fg)
            mask = self._thresholded(fg)
        self._save(image_id, mask)
        if image_id == self.document.image_id:
            self._show(image_id, mask, preview=False)

    def set_preview(self, frame) -> None:
        """A live training preview (a PreviewFrame, not stored) for the image shown; other images' are
        dropped. A frame of a region is pasted into the preview shown (region_changed), a whole one replaces it."""
        if frame.image_id != self.document.image_id or self.document.labels is None:
            return
        fg = foreground(frame.probabilities)
        part = self._thresholded(fg) if fg is not None else np.argmax(frame.probabilities, axis=0).astype(np.uint8)
        shape = self.document.labels.shape
        region = frame.region or (0, 0, *shape)
        if frame.region is None or not (self.is_preview and self.image_id == frame.image_id
                                        and self.mask is not None and self.mask.shape == shape):
            mask, uncertainty = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
        else:
            mask, uncertainty = self.mask, self.uncertainty
        y0, x0, y1, x1 = region
        mask[y0:y1, x0:x1] = part
        uncertainty[y0:y1, x0:x1] = frame.uncertainty
        if fg is not None:
            whole = self._foreground.get(frame.image_id)
            if whole is None or whole.shape != shape or mask is not self.mask:
                whole = np.zeros(shape, np.float16)
            whole[y0:y1, x0:x1] = fg
            self._remember(frame.image_id, whole)
        self.preview_step = frame.step
        if mask is self.mask:
            self.region_changed.emit(region)
        else:
            self.uncertainty = uncertainty
            self._show(frame.image_id, mask, preview=True)

    def set_threshold(self, threshold: float) -> None:
        """Re-threshold the current two-class prediction (saved shortly after the last change)."""
        self.threshold = float(threshold)
        if not self.can_rethreshold:
            return
        self.mask = self._thresholded(self._foreground[self.image_id])
        self.prediction_changed.emit(self.image_id)
        if not self.is_preview:
            self._save_timer.start()

    def apply_patch(self, image_id: str, patch: Patch, new: bool) -> None:
        """Undo/redo an edit of the stored prediction (object rejection); saved at once."""
        mask = self.mask if image_id == self.image_id and self.mask is not None else self._load(image_id)
        if mask is None:
            return
        (patch.apply_new if new else patch.apply_old)(mask)
        self._foreground.pop(image_id, None)  # the edited mask no longer follows the probabilities
        self._save(image_id, mask)
        if image_id == self.image_id:
            self.prediction_changed.emit(image_id)

    def save_now(self) -> None:
        """Write the current (re-thresholded) prediction if one is pending."""
        if self._save_timer.isActive():
            self._save_timer.stop()
        if self.image_id is not None and self.mask is not None and not self.is_preview:
            self._save(self.image_id, self.mask)

    # ----- internals
    def _thresholded(self, fg: np.ndarray) -> np.ndarray:
        return (fg >= self.threshold).astype(np.uint8)

    def _remember(self, image_id: str, fg: np.ndarray) -> None:
        self._foreground[image_id] = fg
        self._foreground.move_to_end(image_id)
        while len(self._foreground) > KEPT_PROBABILITIES:
            self._foreground.popitem(last=False)

    def _save(self, image_id: str, mask: np.ndarray) -> None:
        try:
            self.document.save_prediction(image_id, mask)
        except StudioError as error:
            self.error_raised.emit(str(error))

    def _load(self, image_id: str) -> np.ndarray | None:
        try:
            return self.document.project.load_prediction(image_id)
        except StudioError as error:
            self.error_raised.emit(str(error))
            return None

    def _show(self, image_id: str | None, mask: np.ndarray | None, preview: bool) -> None:
        self.image_id, self.mask, self.is_preview = image_id, mask, preview
        if not preview:
            self.uncertainty, self.preview_step = None, None
        self.prediction_changed.emit(image_id or "")

    def _on_document_project_changed(self) -> None:
        self._foreground.clear()
        self._show(None, None, preview=False)

    def _on_document_image_changed(self, image_id: str) -> None:
        self.save_now()
        if not image_id or self.document.project is None:
            self._show(None, None, preview=False)
            return
        fg = self._foreground.get(image_id)
        mask = self._thresholded(fg) if fg is not None else self._load(image_id)
        self._show(image_id, mask, preview=False)
