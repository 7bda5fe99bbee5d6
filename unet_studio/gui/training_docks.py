"""Plugs the train / predict / review / models / QC / export parts into a main window.

The window stays an assembler: this module builds the prediction state and overlay, the review tool, the
four docks and the Model menu, and connects their signals; each piece lives in its own file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFrame, QMessageBox, QScrollArea, QWidget

from unet_studio.gui.dataset_model import ID_ROLE
from unet_studio.gui.export_dialog import ExportDialog
from unet_studio.gui.live_session import LiveSession
from unet_studio.gui.live_uncertainty import UncertaintyOverlayItem
from unet_studio.gui.models_panel import ModelsPanel
from unet_studio.gui.prediction_overlay import PredictionOverlayItem
from unet_studio.gui.prediction_panel import PredictionPanel
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.qc import QcPanel
from unet_studio.gui.review_tools import ReviewController, ReviewTool
from unet_studio.gui.shortcuts import shortcut
from unet_studio.gui.training_panel import TrainingPanel
from unet_studio.gui.workers import wait_for

STATUS_SHOWN_MS = 15000
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
    window: Any = None
    live: LiveSession | None = None
    uncertainty: UncertaintyOverlayItem | None = None

    def export_dialogs(self) -> list[ExportDialog]:
        return self.window.findChildren(ExportDialog) if self.window is not None else []

    def running_jobs(self) -> list[str]:
        """What runs in the background now: 'training', 'prediction', 'quality check', 'export'."""
        jobs = [name for name, panel in (("training", self.training), ("prediction", self.prediction),
                                         ("quality check", self.qc)) if panel.worker is not None]
        return jobs + (["export"] if any(d.worker is not None for d in self.export_dialogs()) else [])

    def confirm_quit(self) -> bool:
        """With jobs running, ask "Training is running: stop and quit?"; True to go on closing."""
        jobs = self.running_jobs()
        if not jobs:
            return True
        names = " and ".join(", ".join(jobs).rsplit(", ", 1)).capitalize()
        question = f"{names} is running: stop and quit?" if len(jobs) == 1 else \
            f"{names} are running: stop them and quit?"
        answer = QMessageBox.question(self.window, "UNet Studio", question)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop every background job, join its thread, then deliver the signals the jobs sent last (the
        stopped training registers its model, never as the active one) before the window goes. Those may
        start a job (the quality check after a run), so this repeats until nothing runs."""
        results = []
        for _ in range(3):
            for dialog in self.export_dialogs():
                if dialog.worker is not None:
                    dialog.worker.stop()
            results += [self.training.shutdown(timeout_ms), self.prediction.shutdown(timeout_ms),
                        self.qc.shutdown(timeout_ms)] + [wait_for(d.thread, timeout_ms) for d in self.export_dialogs()]
            QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall.value)
            if not self.running_jobs():
                break
        self.state.save_now()
        return all(results) and not self.running_jobs()


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
    uncertainty = UncertaintyOverlayItem(state)
    window.canvas.scene().addItem(uncertainty)
    live = LiveSession(doc, training, window.canvas, state, window.browser.model, window)
    training.add_live_controls(live.buttons, live.status_label)
    parts = TrainingDocks(state, overlay, review, review_tool, training, prediction, models, qc, docks, {}, window,
                          live, uncertainty)
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
    qc.active_model_changed.connect(lambda message: window.status.showMessage(message, STATUS_SHOWN_MS))
    for panel_update in (models.refresh, prediction.update_controls, training.update_buttons):
        qc.active_model_changed.connect(lambda _message, update=panel_update: update())
    models.models_changed.connect(prediction.update_controls)
    models.models_changed.connect(training.update_buttons)
    prediction.opacity_changed.connect(parts.overlay.setOpacity)
    prediction.outline_changed.connect(parts.overlay.set_outline)
    prediction.review_mode_changed.connect(lambda on: _set_review_mode(window, parts, on))
    for signal in (window.tools.tool_changed, window.tools.brush_size_changed):  # picking a tool (P E F L I)
        signal.connect(lambda *_: prediction.review_button.setChecked(False))
    parts.state.error_raised.connect(window.show_error)
    window.actions["uncertaintyAction"].toggled.connect(parts.uncertainty.setVisible)


def _set_review_mode(window, parts: TrainingDocks, on: bool) -> None:
    """Clicks on the canvas review predicted objects instead of painting; no tool shows as selected
    meanwhile, and picking one (button or key) leaves review mode."""
    window.tools.finish()
    window.canvas.tool_handler = parts.review_tool if on else window.tools
    group = window.actions["brushAction"].actionGroup()
    group.setExclusive(not on)
    if on:
        for action in group.actions():
            action.setChecked(False)
        window.canvas.set_ring_diameter(0)
    else:
        window._on_tools_changed()  # the current tool checked again, its brush ring back


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
        "liveTrainingAction": parts.live.live_action,
        "pauseTrainingAction": parts.live.pause_action,
        "keepModelAction": parts.live.keep_action,
        "predictAction": _action(window, "predictAction", "Predict", parts.prediction.predict,
                                   shortcut("predictAction").keys[0]),
        "acceptPredictionAction": parts.prediction.accept_action,
        "replacePredictionAction": parts.prediction.replace_action,
        "exportAction": _action(window, "exportAction", "Export...", lambda: open_export_dialog(window),
                                shortcut("exportAction").keys[0]),
    }
    menu = window.menuBar().addMenu("&Model")
    menu.setObjectName("modelMenu")
    for name, action in actions.items():
        menu.addAction(action)
        if name in ("keepModelAction", "replacePredictionAction"):
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
