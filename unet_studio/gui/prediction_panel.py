"""The predictions dock: predict current / selected / all images in the background, threshold, display,
accept the prediction (into the unlabelled pixels) or replace the labels with it, and the review mode
(click objects to accept or reject them).

The panel emits what the canvas should do (`opacity_changed`, `outline_changed`, `review_mode_changed`);
the main window connects those to the prediction overlay and the canvas' input handler.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QRadioButton, QSlider,
    QVBoxLayout, QWidget,
)

from unet_studio.gui.prediction_overlay import LEGEND
from unet_studio.gui.prediction_worker import PredictionJob, PredictionWorker
from unet_studio.gui.shortcuts import shortcut
from unet_studio.gui.workers import start_worker, wait_for

SCOPES = {"current": "Current image", "selected": "Selected images", "all": "All images"}


class PredictionPanel(QWidget):
    """Runs PredictionWorker jobs and drives the PredictionState and ReviewController."""

    opacity_changed = Signal(float)
    outline_changed = Signal(bool)
    review_mode_changed = Signal(bool)
    prediction_finished = Signal()

    def __init__(self, document, state, review, selection: Callable[[], list[str]] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.document, self.state, self.review = document, state, review
        self.selection = selection or (lambda: [document.image_id] if document.image_id else [])
        self.worker: PredictionWorker | None = None
        self.thread: QThread | None = None
        self.problems: list[str] = []
        self.predicted, self._predicted_ids = 0, set()  # images predicted in the last run (not planes)
        self.accept_action = QAction("Accept prediction", self)
        self.accept_action.setObjectName("acceptPredictionAction")
        self.accept_action.setShortcut(shortcut("acceptPredictionAction").keys[0])
        self.accept_action.setToolTip("Fill the unlabelled pixels from the prediction; painted labels stay "
                                      "(one undo step)")
        self.accept_action.triggered.connect(self.review.accept_all)
        self.replace_action = QAction("Replace labels with prediction", self)
        self.replace_action.setObjectName("replacePredictionAction")
        self.replace_action.setToolTip("Make the labels the prediction alone, painted pixels included "
                                       "(one undo step)")
        self.replace_action.triggered.connect(self.review.replace_all)
        self._build_widgets()
        self._layout()
        state.prediction_changed.connect(self._on_state_prediction_changed)
        state.error_raised.connect(self.message.setText)
        review.notice.connect(self.message.setText)
        document.project_changed.connect(self.update_controls)
        document.records_changed.connect(self.update_controls)
        self.update_controls()

    def _build_widgets(self) -> None:
        self.scope = QComboBox()
        self.scope.setObjectName("predictScopeCombo")
        for value, title in SCOPES.items():
            self.scope.addItem(title, value)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("predictButton")
        self.predict_button.clicked.connect(self.predict)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelPredictButton")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setObjectName("predictProgress")
        self.message = QLabel()
        self.message.setObjectName("predictMessageLabel")
        self.message.setWordWrap(True)
        self.note = QLabel()
        self.note.setObjectName("predictNoteLabel")
        self.note.setWordWrap(True)
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("reviewLegendLabel")
        self.legend.setWordWrap(True)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setObjectName("thresholdSlider")
        self.threshold.setRange(1, 99)
        self.threshold.setValue(round(self.state.threshold * 100))
        self.threshold.valueChanged.connect(self._on_threshold_value_changed)
        self.threshold_label = QLabel()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("predictionOpacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(90)
        self.opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self.outline = QCheckBox("Outlines")
        self.outline.setChecked(True)
        self.outline.toggled.connect(self.outline_changed)
        self.accept_button = QPushButton("Accept prediction")
        self.accept_button.setObjectName("acceptPredictionButton")
        self.accept_button.setToolTip(self.accept_action.toolTip())
        self.accept_button.clicked.connect(self.accept_action.trigger)
        self.replace_button = QPushButton("Replace labels")
        self.replace_button.setObjectName("replacePredictionButton")
        self.replace_button.setToolTip(self.replace_action.toolTip())
        self.replace_button.clicked.connect(self.replace_action.trigger)
        self.review_button = QPushButton("Review objects")
        self.review_button.setObjectName("reviewModeButton")
        self.review_button.setCheckable(True)
        self.review_button.setToolTip("Click predicted objects on the image to accept or reject them one by one")
        self.review_button.toggled.connect(self.review_mode_changed)
        self.accept_radio = QRadioButton("click accepts")
        self.reject_radio = QRadioButton("click rejects")
        self.accept_radio.setChecked(True)
        self.accept_radio.toggled.connect(lambda on: self.review.set_mode("accept" if on else "reject"))
        self._show_threshold()

    def _layout(self) -> None:
        run = QHBoxLayout()
        run.addWidget(self.scope, 1)
        run.addWidget(self.predict_button)
        run.addWidget(self.cancel_button)
        threshold = QHBoxLayout()
        threshold.addWidget(self.threshold, 1)
        threshold.addWidget(self.threshold_label)
        form = QFormLayout()
        form.addRow("Threshold", threshold)
        form.addRow("Opacity", self.opacity)
        form.addRow("", self.outline)
        review = QHBoxLayout()
        review.addWidget(self.review_button)
        review.addWidget(self.accept_radio)
        review.addWidget(self.reject_radio)
        layout = QVBoxLayout(self)
        layout.addLayout(run)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.note)
        layout.addLayout(form)
        accept = QHBoxLayout()
        accept.addWidget(self.accept_button, 1)
        accept.addWidget(self.replace_button)
        layout.addLayout(accept)
        layout.addLayout(review)
        layout.addWidget(self.legend)
        layout.addStretch(1)

    # ----- state
    @property
    def running(self) -> bool:
        return self.worker is not None

    def update_controls(self, *_args) -> None:
        project = self.document.project
        model = project.active_model if project is not None else None
        reason = None if model is not None else "no active model: train one first"
        self.predict_button.setEnabled(not self.running and reason is None)
        self.predict_button.setToolTip(reason or "Predict with the active model")
        self.cancel_button.setEnabled(self.running)
        has_prediction = self.state.mask is not None and self.state.shows(self.document.image_id, self.document.plane)
        for control in (self.accept_action, self.accept_button, self.replace_action, self.replace_button):
            control.setEnabled(has_prediction)
        self.threshold.setEnabled(self.state.can_rethreshold)

    def _on_state_prediction_changed(self, *_args) -> None:
        self.note.setText(self._whole_image_note())
        self.update_controls()

    def _whole_image_note(self) -> str:
        """Says so when the prediction is one class everywhere (no edge inside the image to outline)."""
        mask = self.state.mask
        if mask is None or mask.size == 0 or mask.min() != mask.max():
            return ""
        value = int(mask.flat[0])
        if value == 0:
            return "The prediction found no object in this image."
        return (f"The prediction is \u201c{self.document.class_name(value + 1)}\u201d everywhere: its outline "
                "is the image border.")

    def image_ids(self) -> list[str]:
        """The images the chosen scope covers."""
        scope = self.scope.currentData()
        if scope == "all":
            return [r.id for r in self.document.records]
        if scope == "selected":
            return list(self.selection())
        return [self.document.image_id] if self.document.image_id else []

    # ----- running
    def predict(self) -> bool:
        """Predict the scope's images with the active model in a worker thread."""
        project = self.document.project
        ids = self.image_ids()
        if self.running or project is None or project.active_model is None or not ids:
            return False
        images = tuple((image_id, project.image_path(image_id), self._planes(image_id)) for image_id in ids)
        self.problems, self.predicted, self._predicted_ids = [], 0, set()
        self.worker = PredictionWorker(PredictionJob(project.model_path(project.active_model), images))
        self.worker.model_loaded.connect(self._on_worker_model_loaded)
        self.worker.image_predicted.connect(self._on_worker_image_predicted)
        self.worker.progress_changed.connect(self._on_worker_progress_changed)
        self.worker.problem_found.connect(self.problems.append)
        self.worker.failed.connect(self.problems.append)
        self.worker.finished.connect(self._on_worker_finished)
        self.progress.setRange(0, sum(len(planes) for _id, _path, planes in images))
        self.progress.setValue(0)
        self.message.setText(f"Predicting {len(images)} image(s)...")
        self.thread = start_worker(self.worker, self)
        self.update_controls()
        return True

    def _planes(self, image_id: str) -> tuple[int, ...]:
        """The shown plane of the current image (what the user looks at); every plane of another stack."""
        if image_id == self.document.image_id:
            return (self.document.plane,)
        return tuple(range(self.document.project.n_planes(image_id)))

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.message.setText("Cancelling...")

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        self.cancel()
        return wait_for(self.thread, timeout_ms)

    def _on_worker_model_loaded(self, threshold) -> None:
        if threshold is not None:
            self.threshold.setValue(round(float(threshold) * 100))

    def _on_worker_image_predicted(self, image_id: str, plane: int, mask, probabilities) -> None:
        self.predicted += image_id not in self._predicted_ids  # images, not planes
        self._predicted_ids.add(image_id)
        self.state.set_result(image_id, mask, probabilities, plane)

    def _on_worker_progress_changed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_worker_finished(self) -> None:
        cancelled = self.worker.cancelled
        wait_for(self.thread)
        self.worker, self.thread = None, None
        done = f"{self.predicted} image(s) predicted"
        lines = [f"Cancelled: {done}" if cancelled else done.capitalize()]
        self.message.setText("\n".join(lines + self.problems))
        self.update_controls()
        self.prediction_finished.emit()

    def _on_threshold_value_changed(self, value: int) -> None:
        self.state.set_threshold(value / 100)
        self._show_threshold()

    def _show_threshold(self) -> None:
        self.threshold_label.setText(f"{self.threshold.value() / 100:.2f}")
