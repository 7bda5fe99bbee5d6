"""Plugs the train / predict / review / models / QC / export parts into a main window.

The window stays an assembler: this module builds the prediction state and overlay, the review tool, the
four docks and the Model menu, and connects their signals; each piece lives in its own file.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from unet_studio.gui.dataset_model import ID_ROLE
from unet_studio.gui.export_dialog import ExportDialog
from unet_studio.gui.models_panel import ModelsPanel
from unet_studio.gui.prediction_overlay import PredictionOverlayItem
from unet_studio.gui.prediction_panel import PredictionPanel
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.qc import QcPanel
from unet_studio.gui.review_tools import ReviewController, ReviewTool
from unet_studio.gui.shortcuts import shortcut
from unet_studio.gui.training_panel import TrainingPanel

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
LEFT = Qt.DockWidgetArea.LeftDockWidgetArea


@dataclass
class TrainingDocks:
    """Everything install_training_docks added to the window."""

    state: PredictionState
    overlay: PredictionOverlayItem
    review: ReviewController
    review_tool: ReviewTool
    training: TrainingPanel
    prediction: PredictionPanel
    models: ModelsPanel
    qc: QcPanel
    docks: dict[str, QDockWidget]
    actions: dict[str, QAction]

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop every background job and wait for its thread (the window is closing)."""
        results = [self.training.shutdown(timeout_ms), self.prediction.shutdown(timeout_ms),
                   self.qc.shutdown(timeout_ms)]
        self.state.save_now()
        return all(results)


def scrollable(panel: QWidget) -> QScrollArea:
    """The panel in a frameless scroll area, so a tall panel never forces the window to grow."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    return area


def selected_image_ids(window) -> list[str]:
    """Ids of the rows selected in the dataset browser (the current image when none is)."""
    rows = window.browser.view.selectionModel().selectedRows()
    ids = [index.data(ID_ROLE) for index in rows]
    if not ids and window.document.image_id:
        ids = [window.document.image_id]
    return ids


def install_training_docks(window) -> TrainingDocks:
    """Add the training, predictions, models and quality docks and the Model menu to `window`."""
    doc = window.document
    state = PredictionState(doc, window)
    overlay = PredictionOverlayItem(state)
    window.canvas.scene().addItem(overlay)
    review = ReviewController(doc, state, window)
    review_tool = ReviewTool(review, window)
    training = TrainingPanel(doc)
    prediction = PredictionPanel(doc, state, review, selection=lambda: selected_image_ids(window))
    models = ModelsPanel(doc)
    qc = QcPanel(doc)
    docks = {"training": window.add_panel("Training", scrollable(training), RIGHT),
             "predictions": window.add_panel("Predictions", scrollable(prediction), RIGHT),
             "models": window.add_panel("Models", models, LEFT),
             "quality": window.add_panel("Quality", scrollable(qc), LEFT)}
    window.tabifyDockWidget(docks["training"], docks["predictions"])
    docks["training"].raise_()
    window.tabifyDockWidget(docks["models"], docks["quality"])
    docks["models"].raise_()
    parts = TrainingDocks(state, overlay, review, review_tool, training, prediction, models, qc, docks, {})
    _connect(window, parts)
    parts.actions = _build_menu(window, parts)
    return parts


def _connect(window, parts: TrainingDocks) -> None:
    training, prediction, models, qc = parts.training, parts.prediction, parts.models, parts.qc
    training.preview_ready.connect(parts.state.set_preview)
    training.training_started.connect(qc.remember_previous)
    training.training_finished.connect(qc.on_training_finished)
    training.training_finished.connect(lambda _event: prediction.update_controls())
    qc.qc_finished.connect(lambda warnings: warnings and parts.docks["quality"].raise_())
    models.models_changed.connect(prediction.update_controls)
    models.models_changed.connect(training.update_buttons)
    prediction.opacity_changed.connect(parts.overlay.setOpacity)
    prediction.outline_changed.connect(parts.overlay.set_outline)
    prediction.review_mode_changed.connect(lambda on: _set_review_mode(window, parts, on))
    parts.state.error_raised.connect(window.show_error)


def _set_review_mode(window, parts: TrainingDocks, on: bool) -> None:
    """Clicks on the canvas review predicted objects instead of painting."""
    window.tools.finish()
    window.canvas.tool_handler = parts.review_tool if on else window.tools
    window.canvas.set_ring_diameter(0 if on else window.tools.brush_size)


def _action(parent: QObject, name: str, text: str, slot, shortcut: str | None = None) -> QAction:
    action = QAction(text, parent)
    action.setObjectName(name)
    if shortcut:
        action.setShortcut(shortcut)
    action.triggered.connect(slot)
    return action


def _build_menu(window, parts: TrainingDocks) -> dict[str, QAction]:
    actions = {
        "trainAction": _action(window, "trainAction", "Train", lambda: parts.training.start(False),
                                 shortcut("trainAction").keys[0]),
        "fineTuneAction": _action(window, "fineTuneAction", "Fine-tune current model",
                                  lambda: parts.training.start(True)),
        "stopTrainingAction": _action(window, "stopTrainingAction", "Stop training", parts.training.stop),
        "predictAction": _action(window, "predictAction", "Predict", parts.prediction.predict,
                                   shortcut("predictAction").keys[0]),
        "acceptPredictionAction": parts.prediction.accept_action,
        "exportAction": _action(window, "exportAction", "Export...", lambda: open_export_dialog(window),
                                shortcut("exportAction").keys[0]),
    }
    menu = window.menuBar().addMenu("&Model")
    menu.setObjectName("modelMenu")
    for name, action in actions.items():
        menu.addAction(action)
        if name in ("stopTrainingAction", "acceptPredictionAction"):
            menu.addSeparator()
    window.addActions(list(actions.values()))
    return actions


def open_export_dialog(window) -> ExportDialog | None:
    """The export dialog for the images selected in the browser (modeless; it deletes itself on close)."""
    if window.document.project is None:
        return None
    dialog = ExportDialog(window.document, selected_image_ids(window), window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
