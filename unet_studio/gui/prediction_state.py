"""The predictions the GUI shows: the current image's predicted mask, and foreground probabilities to
re-threshold two-class predictions without running the network again.

Masks are conventional (0 = background, 1..K = classes) and stored through Project.save_prediction.
Foreground probabilities are kept (float16) for the last few images predicted in this session only. A
stack's planes each have their own prediction: the state follows the document's shown plane.
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
        self.plane = 0  # of image_id: the plane the shown mask predicts
        self.mask: np.ndarray | None = None
        self.is_preview = False
        self.preview_step: int | None = None  # the training step whose weights made the shown preview
        self.uncertainty: np.ndarray | None = None  # uint8 (H, W) of the shown preview (live_uncertainty.py)
        self._foreground: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()  # (image id, plane) ->
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)
        document.project_changed.connect(self._on_document_project_changed)
        document.image_changed.connect(self._on_document_image_changed)

    @property
    def can_rethreshold(self) -> bool:
        """The current prediction has probabilities for a threshold (two-class models, this session)."""
        return (self.image_id, self.plane) in self._foreground

    def shows(self, image_id: str | None, plane: int) -> bool:
        """Whether the shown prediction is of this image plane."""
        return image_id is not None and (self.image_id, self.plane) == (image_id, plane)

    def set_result(self, image_id: str, mask: np.ndarray, probabilities: np.ndarray | None, plane: int = 0) -> None:
        """A finished prediction of an image plane: stored in the project and shown if it is the one shown."""
        fg = foreground(probabilities)
        if fg is not None:
            self._remember((image_id, plane), fg)
            mask = self._thresholded(fg)
        self._save(image_id, mask, plane)
        if image_id == self.document.image_id and plane == self.document.plane:
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
        if frame.region is None or not (self.is_preview and self.shows(frame.image_id, self.document.plane)
                                        and self.mask is not None and self.mask.shape == shape):
            mask, uncertainty = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
        else:
            mask, uncertainty = self.mask, self.uncertainty
        y0, x0, y1, x1 = region
        mask[y0:y1, x0:x1] = part
        uncertainty[y0:y1, x0:x1] = frame.uncertainty
        if fg is not None:
            key = (frame.image_id, self.document.plane)
            whole = self._foreground.get(key)
            if whole is None or whole.shape != shape or mask is not self.mask:
                whole = np.zeros(shape, np.float16)
            whole[y0:y1, x0:x1] = fg
            self._remember(key, whole)
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
        self.mask = self._thresholded(self._foreground[(self.image_id, self.plane)])
        self.prediction_changed.emit(self.image_id)
        if not self.is_preview:
            self._save_timer.start()

    def apply_patch(self, image_id: str, patch: Patch, new: bool, plane: int = 0) -> None:
        """Undo/redo an edit of the stored prediction of an image plane (object rejection); saved at once."""
        shown = self.shows(image_id, plane) and self.mask is not None
        mask = self.mask if shown else self._load(image_id, plane)
        if mask is None:
            return
        (patch.apply_new if new else patch.apply_old)(mask)
        self._foreground.pop((image_id, plane), None)  # the edited mask no longer follows the probabilities
        self._save(image_id, mask, plane)
        if shown:
            self.prediction_changed.emit(image_id)

    def save_now(self) -> None:
        """Write the current (re-thresholded) prediction if one is pending."""
        if self._save_timer.isActive():
            self._save_timer.stop()
        if self.image_id is not None and self.mask is not None and not self.is_preview:
            self._save(self.image_id, self.mask, self.plane)

    # ----- internals
    def _thresholded(self, fg: np.ndarray) -> np.ndarray:
        return (fg >= self.threshold).astype(np.uint8)

    def _remember(self, key: tuple[str, int], fg: np.ndarray) -> None:
        self._foreground[key] = fg
        self._foreground.move_to_end(key)
        while len(self._foreground) > KEPT_PROBABILITIES:
            self._foreground.popitem(last=False)

    def _save(self, image_id: str, mask: np.ndarray, plane: int = 0) -> None:
        try:
            self.document.save_prediction(image_id, mask, plane)
        except StudioError as error:
            self.error_raised.emit(str(error))

    def _load(self, image_id: str, plane: int = 0) -> np.ndarray | None:
        try:
            return self.document.project.load_prediction(image_id, plane)
        except StudioError as error:
            self.error_raised.emit(str(error))
            return None

    def _show(self, image_id: str | None, mask: np.ndarray | None, preview: bool) -> None:
        self.image_id, self.mask, self.is_preview = image_id, mask, preview
        self.plane = self.document.plane if image_id else 0
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
        plane = self.document.plane
        fg = self._foreground.get((image_id, plane))
        mask = self._thresholded(fg) if fg is not None else self._load(image_id, plane)
        self._show(image_id, mask, preview=False)
