"""LiveSession: live training in the window, on the GUI thread.

Checking `liveTrainingAction` starts a live run in the Training panel (its settings, no budget);
unchecking stops it, and the panel registers the best checkpoint as after any run. While it runs this
object keeps the run fed: a new ProjectSnapshot when images, splits or classes change, "labels changed"
as soon as the autosave writer has put an annotation on disk (so a stroke joins within a second or two of
autosave), the part of the image on screen (previewed first), and the unlabelled images to score for the
browser's "most uncertain first" column. `keepModelAction` asks the run for its current weights in a new
model file and registers them here once written (ModelKept). `liveStatusLabel` says where the run is:
"live: step 240, preview from step 230, labels v3" (", paused" while paused).
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QToolButton

from unet_studio.core.errors import StudioError
from unet_studio.gui.dataset_model import UNLABELLED
from unet_studio.gui.shortcuts import shortcut
from unet_studio.training.project_source import snapshot_project

SNAPSHOT_DELAY_MS = 200  # records_changed comes in bursts (a status per write): one snapshot per burst
VIEWPORT_DELAY_MS = 100


def live_action(parent: QObject, name: str, text: str, checkable: bool = False) -> QAction:
    """A QAction with its keys from the shortcut table."""
    action = QAction(text, parent)
    action.setObjectName(name)
    action.setShortcuts([QKeySequence(key) for key in shortcut(name).keys])
    action.setToolTip(f"{text} ({', '.join(shortcut(name).keys)}): {shortcut(name).description}")
    action.setCheckable(checkable)
    return action


def free_model_path(path: Path, taken: set[Path]) -> Path:
    """`path`, or `<stem>-2.pt`, `-3`... when that file exists or is taken (new_model_path has 1 s steps)."""
    candidate, n = path, 1
    while candidate.exists() or candidate in taken:
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class LiveSession(QObject):
    """The live actions, the status label and everything that keeps a live run up to date."""

    labels_reloaded = Signal(object)  # LabelsReloaded, as the window received it
    model_kept = Signal(Path)  # the kept model's path in the project

    def __init__(self, document, panel, canvas, state, browser_model, parent: QObject):
        super().__init__(parent)
        self.document, self.panel, self.canvas, self.state, self.browser_model = \
            document, panel, canvas, state, browser_model
        self.step = 0
        self.last_reload = None
        self._snapshot = None
        self._keeping: set[Path] = set()
        self.live_action = live_action(parent, "liveTrainingAction", "Live training", checkable=True)
        self.pause_action = live_action(parent, "pauseTrainingAction", "Pause live training", checkable=True)
        self.keep_action = live_action(parent, "keepModelAction", "Keep this model")
        self.status_label = QLabel()
        self.status_label.setObjectName("liveStatusLabel")
        self.status_label.hide()  # takes no room until there is something to say
        self.buttons = self._buttons()
        self._snapshot_timer = self._timer(SNAPSHOT_DELAY_MS, self.push_snapshot)
        self._viewport_timer = self._timer(VIEWPORT_DELAY_MS, self.push_viewport)
        self._connect()
        self.update_actions()

    def _timer(self, interval_ms: int, slot) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        return timer

    def _buttons(self) -> list[QToolButton]:
        """Live / Pause / Keep for the Training panel's button row (short texts: the dock is narrow)."""
        buttons = []
        for name, action, text in (("liveButton", self.live_action, "Live"),
                                   ("pauseButton", self.pause_action, "Pause"),
                                   ("keepModelButton", self.keep_action, "Keep")):
            action.setIconText(text)
            button = QToolButton()
            button.setObjectName(name)
            button.setDefaultAction(action)
            buttons.append(button)
        return buttons

    def _connect(self) -> None:
        doc, panel = self.document, self.panel
        self.live_action.toggled.connect(self._on_live_action_toggled)
        self.pause_action.toggled.connect(self._on_pause_action_toggled)
        self.keep_action.triggered.connect(self.keep_model)
        panel.buttons_updated.connect(self.update_actions)
        panel.training_started.connect(self._on_panel_training_started)
        panel.training_finished.connect(self._on_panel_training_finished)
        panel.preview_ready.connect(lambda _frame: self.refresh_status())
        panel.redraw_timer.timeout.connect(self.refresh_status)
        for signal in (doc.records_changed, doc.classes_changed):
            signal.connect(self._on_document_project_edited)
        doc.writer.written.connect(self._on_writer_written)  # from the writer thread: queued to this one
        doc.image_changed.connect(lambda _id: self._viewport_timer.start())
        self.canvas.zoom_changed.connect(lambda _zoom: self._viewport_timer.start())
        for bar in (self.canvas.horizontalScrollBar(), self.canvas.verticalScrollBar()):
            bar.valueChanged.connect(lambda _value: self._viewport_timer.start())

    # ----- state
    @property
    def worker(self):
        """The live run's worker, or None."""
        return self.panel.worker if self.panel.live else None

    def update_actions(self) -> None:
        live = self.panel.live
        can_start = not self.panel.running and self.panel.train_button.isEnabled()
        self.live_action.setEnabled(live or can_start)
        self.pause_action.setEnabled(live)
        self.keep_action.setEnabled(live)
        if not live and not can_start:
            self.live_action.setToolTip(self.panel.train_button.toolTip())
        else:
            self.live_action.setToolTip(f"Live training ({', '.join(shortcut('liveTrainingAction').keys)}): "
                                        f"{shortcut('liveTrainingAction').description}")

    def status_text(self) -> str:
        """'live: step 240, preview from step 230, labels v3' (', paused'), or how the last run ended."""
        worker = self.worker
        if worker is None:
            return f"live: stopped at step {self.step}" if self.step else ""
        preview = self.state.preview_step if self.state.is_preview else None
        parts = [f"live: step {self.step}", "no preview yet" if preview is None else f"preview from step {preview}"]
        if self.last_reload is not None:
            parts.append(f"labels v{self.last_reload.version}")
        if worker.paused:
            parts.append("paused")
        return ", ".join(parts)

    def refresh_status(self) -> None:
        text = self.status_text()
        if text != self.status_label.text():
            self.status_label.setText(text)
            self.status_label.setVisible(bool(text))

    # ----- actions
    def _on_live_action_toggled(self, on: bool) -> None:
        if on and not self.panel.running:
            if not self.panel.start(live=True):
                self._set_checked(self.live_action, False)
        elif on:  # an ordinary run is going on
            self._set_checked(self.live_action, False)
        elif self.panel.live:
            self.panel.stop()

    def _on_pause_action_toggled(self, on: bool) -> None:
        worker = self.worker
        if worker is not None:
            worker.pause() if on else worker.resume()
            self.panel.message_label.setText("Live training paused" if on else "Training live")
        self.refresh_status()

    def keep_model(self) -> Path | None:
        """Ask the run for its current weights in a new model file; registered when written."""
        worker, project = self.worker, self.document.project
        if worker is None or project is None:
            return None
        path = free_model_path(project.new_model_path(), self._keeping | {worker.job.out_path})
        self._keeping.add(path)
        worker.keep_model(path)
        self.panel.message_label.setText(f"Keeping the model of step {self.step}...")
        return path

    @staticmethod
    def _set_checked(action: QAction, checked: bool) -> None:
        blocked = action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(blocked)

    # ----- feeding the run
    def push_snapshot(self) -> None:
        """Give the run the project's labelled files, splits and classes when they changed, and the
        unlabelled images to score."""
        worker, project = self.worker, self.document.project
        if worker is None or project is None:
            return
        snapshot = snapshot_project(project)
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            worker.update_snapshot(snapshot)
        worker.set_unlabelled(tuple((r.id, project.image_path(r.id)) for r in project.images
                                    if r.status in UNLABELLED))

    def push_viewport(self) -> None:
        """Tell any run which part of the viewed image is on screen (previewed first)."""
        worker, image_id = self.panel.worker, self.document.image_id
        if worker is None or not image_id:
            return
        rect = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        region = (math.floor(rect.top()), math.floor(rect.left()), math.ceil(rect.bottom()), math.ceil(rect.right()))
        worker.set_preview_region(image_id, region)

    def _on_document_project_edited(self) -> None:
        if self.worker is not None:
            self._snapshot_timer.start()

    def _on_writer_written(self) -> None:
        """An annotation is on disk: a new labelled file joins the snapshot, and the run looks now."""
        worker = self.worker
        if worker is not None:
            self.push_snapshot()
            worker.labels_changed()

    # ----- run signals
    def _on_panel_training_started(self) -> None:
        self.push_viewport()
        worker = self.worker
        if worker is None:
            return
        self.step, self.last_reload, self._snapshot = 0, None, worker.job.snapshot
        self._set_checked(self.live_action, True)
        worker.step_ended.connect(self._on_worker_step_ended)
        worker.labels_reloaded.connect(self._on_worker_labels_reloaded)
        worker.model_kept.connect(self._on_worker_model_kept)
        worker.uncertainty_scored.connect(self.browser_model.set_uncertainty)
        self.push_snapshot()
        self.update_actions()
        self.refresh_status()

    def _on_panel_training_finished(self, _event) -> None:
        self._set_checked(self.live_action, False)
        self._set_checked(self.pause_action, False)
        self._snapshot, self._keeping = None, set()
        self.update_actions()
        self.refresh_status()

    def _on_worker_step_ended(self, event) -> None:
        self.step = event.step

    def _on_worker_labels_reloaded(self, event) -> None:
        self.last_reload = event
        self.refresh_status()
        self.labels_reloaded.emit(event)

    def _on_worker_model_kept(self, event) -> None:
        """Register the kept weights in the project (GUI thread); active only if no model is."""
        project = self.document.project
        self._keeping.discard(Path(event.path))
        try:
            name = f"{self.panel.worker.job.name()} step {event.step}" if self.panel.worker else f"step {event.step}"
            path = self.document.register_model(event.path, name, activate=project.active_model is None)
        except StudioError as error:
            self.panel.message_label.setText(f"The kept model is in {event.path} but could not be added: {error}")
            return
        self.panel.message_label.setText(f"Kept the model of step {event.step} as {path.stem} (Models)")
        self.model_kept.emit(path)
