"""The training dock: settings, Train / Fine-tune / Stop, progress and live curves.

The run itself happens in a TrainingWorker in its own QThread; this panel only starts it (with a frozen
snapshot of the project), forwards the viewed image for the live preview, stores the events' numbers and
redraws the curves from a 100 ms timer. Under the form it says what the budget buys, from the speed the
last run with the same settings measured (stored in the project). A finished model is registered here on
the GUI thread; an interrupted run (Stop, quit) never replaces the active model. A live run (`start(live=
True)`, a LiveTrainingWorker with no limit) is started, stopped and registered the same way; what only
live runs do (status, pause, keep, new labels) is in live_session.py.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QThread, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from unet_studio.core.errors import StudioError
from unet_studio.gui.live_worker import LiveTrainingWorker
from unet_studio.gui.loss_plot import DicePlot, LearningRatePlot, LossPlot, TrainingCurves
from unet_studio.gui.training_form import TrainingForm
from unet_studio.gui.training_progress import SPEED_KEY, RunProgress, budget_summary, measured_rate, speed_key
from unet_studio.gui.training_settings import LabelCensus, TrainingSettings
from unet_studio.gui.training_worker import TrainingJob, TrainingWorker
from unet_studio.gui.widgets import named_button
from unet_studio.gui.workers import start_worker, wait_for
from unet_studio.training.project_source import snapshot_project

REDRAW_MS = 100
BLOCKER_DELAY_MS = 400
SETTINGS_KEY = "training"


class TrainingPanel(QWidget):
    """Starts and stops training on the document's project and shows how it goes."""

    training_started = Signal()
    buttons_updated = Signal()  # Train's enabled state (and tooltip) may have changed
    training_finished = Signal(object)  # TrainingFinished, or None when the run failed
    preview_ready = Signal(object)  # PreviewFrame (training_worker.py)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.census = LabelCensus()
        self.curves = TrainingCurves()
        self.progress: RunProgress | None = None
        self.worker: TrainingWorker | None = None
        self.thread: QThread | None = None
        self.last_finished = None
        self._speed_key: str | None = None
        self.form = TrainingForm()
        self.train_button = named_button("trainButton", "Train", lambda: self.start(fine_tune=False))
        self.fine_tune_button = named_button("fineTuneButton", "Fine-tune",
                                             lambda: self.start(fine_tune=True))
        self.stop_button = named_button("stopButton", "Stop", self.stop)
        self.budget_label = self._label("trainBudgetLabel")
        self.reason_label = self._label("trainReasonLabel")
        self.message_label = self._label("trainMessageLabel")
        self.stats_label = self._label("trainStatsLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("trainProgress")
        self.loss_plot = LossPlot(self.curves)
        self.dice_plot = DicePlot(self.curves)
        self.lr_plot = LearningRatePlot(self.curves)
        for plot in (self.dice_plot, self.lr_plot):
            plot.setMaximumHeight(120)
            plot.setXLink(self.loss_plot)
        self._layout()
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.blocker_timer = QTimer(self)
        self.blocker_timer.setSingleShot(True)
        self.blocker_timer.setInterval(BLOCKER_DELAY_MS)
        self.blocker_timer.timeout.connect(self.update_buttons)
        document.project_changed.connect(self._on_document_project_changed)
        document.records_changed.connect(self.update_buttons)
        document.annotation_changed.connect(lambda _bbox: self.blocker_timer.start())
        document.image_changed.connect(self._on_document_image_changed)
        self.form.settings_changed.connect(self._on_form_settings_changed)
        self.update_buttons()

    def _label(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        return label

    def _layout(self) -> None:
        self.buttons_row = buttons = QHBoxLayout()
        for button in (self.train_button, self.fine_tune_button, self.stop_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.budget_label)
        layout.addLayout(buttons)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.stats_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.dice_plot)
        layout.addWidget(self.lr_plot)

    def add_live_controls(self, buttons: list[QWidget], status: QLabel) -> None:
        """The live training buttons at the end of the Train row, their status line under it."""
        for button in buttons:
            self.buttons_row.addWidget(button)
        self.layout().insertWidget(self.layout().indexOf(self.reason_label), status)

    # ----- state
    @property
    def running(self) -> bool:
        return self.worker is not None

    def blocker(self) -> str | None:
        """Why Train is unavailable now (one line), or None."""
        doc = self.document
        values = doc.label_values() if doc.labels is not None else None  # no scan of a big image per pause
        return self.census.blocker(doc.project, doc.image_id, values)

    def update_buttons(self) -> None:
        """Enable Train/Fine-tune only when possible, showing the reason (label + tooltip) otherwise."""
        reason = "training is running" if self.running else self.blocker()
        project = self.document.project
        has_model = project is not None and project.active_model is not None
        self.train_button.setEnabled(reason is None)
        self.train_button.setToolTip(reason or "Train a new model on the labelled images")
        self.fine_tune_button.setEnabled(reason is None and has_model)
        self.fine_tune_button.setToolTip(reason or ("Continue training the active model with the current labels"
                                                    if has_model else "no active model to fine-tune"))
        self.reason_label.setText("" if self.running or reason is None else f"Cannot train: {reason}")
        self.stop_button.setEnabled(self.running)
        self.form.setEnabled(not self.running)
        self.buttons_updated.emit()

    # ----- running
    @property
    def live(self) -> bool:
        """A live run is going on."""
        return isinstance(self.worker, LiveTrainingWorker)

    def start(self, fine_tune: bool = False, live: bool = False) -> bool:
        """Start a run (a fine-tune starts from the active model's checkpoint; a live one trains until
        stopped); False with a message if not."""
        if self.running or not self.document.save_now():
            return False
        reason = self.blocker()
        if reason is not None:
            self.message_label.setText(f"Cannot train: {reason}")
            return False
        try:
            job = self._job(fine_tune, live)
        except StudioError as error:
            self.message_label.setText(str(error))
            return False
        self.curves.clear()
        self.last_finished = None
        self.progress = RunProgress(job.train_config)
        self._speed_key = self.current_speed_key()
        self.worker = LiveTrainingWorker(job) if live else TrainingWorker(job)
        self._connect(self.worker)
        if self.document.image is not None:
            self.worker.set_preview_image(self.document.image_id, self.document.image.pixels)
        self.message_label.setText("Training live: every saved stroke joins the run" if live else
                                   "Fine-tuning the active model..." if fine_tune else "Training...")
        self.thread = start_worker(self.worker, self)
        self.redraw_timer.start()
        self.update_buttons()
        self.training_started.emit()
        return True

    def _job(self, fine_tune: bool, live: bool = False) -> TrainingJob:
        project = self.document.project
        settings = self.form.settings()
        project.update_settings(**{SETTINGS_KEY: settings.to_dict()})
        out_path = project.new_model_path()
        snapshot = snapshot_project(project)
        if live:  # no budget: it runs until stopped
            config = dataclasses.replace(settings.train_config(), epochs=None, max_seconds=None, max_steps=None)
            model, stamp = settings.model_config(), out_path.stem.removeprefix("model-")
            return TrainingJob(snapshot, model, config, out_path, None, f"{model.arch} live {stamp}")
        if fine_tune:
            active = project.active_model
            name = f"{project.model(active).name} fine-tuned"
            return TrainingJob(snapshot, None, settings.train_config(), out_path, project.model_path(active), name)
        return TrainingJob(snapshot, settings.model_config(), settings.train_config(), out_path, None, None)

    def _connect(self, worker: TrainingWorker) -> None:
        worker.step_ended.connect(self._on_worker_step_ended)
        worker.epoch_ended.connect(self._on_worker_epoch_ended)
        worker.preview_ready.connect(self.preview_ready)
        worker.log_emitted.connect(self.message_label.setText)
        worker.training_finished.connect(self._on_worker_training_finished)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)

    def stop(self) -> None:
        """Ask the run to stop after the current batch (a direct call: the worker thread is busy)."""
        if self.worker is not None:
            self.worker.stop()
            self.stop_button.setEnabled(False)
            self.message_label.setText("Stopping after this batch...")

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop any run and wait for its thread (window closing)."""
        self.stop()
        return wait_for(self.thread, timeout_ms)

    def redraw(self) -> None:
        """Timer slot: curves and progress from the numbers received since the last redraw."""
        for plot in (self.loss_plot, self.dice_plot, self.lr_plot):
            plot.refresh()
        if self.progress is not None:
            fraction = self.progress.fraction()
            self.progress_bar.setRange(0, 0 if fraction is None else 1000)
            if fraction is not None:
                self.progress_bar.setValue(int(fraction * 1000))
            self.stats_label.setText(self.progress.summary())

    # ----- worker signals (queued to the GUI thread)
    def _on_worker_step_ended(self, event) -> None:
        self.curves.add_step(event)
        self.progress.on_step(event)

    def _on_worker_epoch_ended(self, event) -> None:
        self.curves.add_epoch(event)
        self.progress.on_epoch(event)

    def _on_worker_training_finished(self, event) -> None:
        project = self.document.project
        self._remember_speed(event.history)
        kept = project.active_model if event.interrupted else None
        if event.checkpoint_path is not None:
            # Registered here, on the GUI thread that owns the project, so no manifest update can race.
            # With an active model already, the quality check decides which one stays active (gui/qc.py).
            try:
                path = self.document.register_model(event.checkpoint_path, self.worker.job.name(),
                                                    activate=project.active_model is None)
                event = dataclasses.replace(event, checkpoint_path=path)
            except StudioError as error:
                self.last_finished = event
                self.message_label.setText(f"Training ended; the model is in {event.checkpoint_path} but could "
                                           f"not be added to the project: {error}")
                return
        self.last_finished = event
        saved = "model saved" if event.checkpoint_path is not None else "no model could be saved"
        if kept is not None and event.checkpoint_path is not None:
            saved = f"model saved in Models; {project.model(kept).name} stays the active model"
        self.message_label.setText(f"Training ended: {event.reason} ({saved})")

    def _on_worker_failed(self, message: str) -> None:
        self.last_finished = None
        self.message_label.setText(message)

    def _on_worker_finished(self) -> None:
        wait_for(self.thread)
        self.worker, self.thread = None, None
        self.redraw_timer.stop()
        self.redraw()
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1000)
        self.update_buttons()
        self.training_finished.emit(self.last_finished)

    # ----- document signals
    def _on_document_project_changed(self) -> None:
        project = self.document.project
        stored = project.settings.get(SETTINGS_KEY) if project is not None else None
        if stored:
            try:
                self.form.set_settings(TrainingSettings.from_dict(stored))
            except (StudioError, TypeError):
                self.message_label.setText("project.json: stored training settings ignored (invalid)")
        self.update_buttons()
        self.update_budget()

    def _on_document_image_changed(self, image_id: str) -> None:
        if self.worker is not None and image_id and self.document.image is not None:
            self.worker.set_preview_image(image_id, self.document.image.pixels)
        self.blocker_timer.start()

    def _on_form_settings_changed(self) -> None:
        self.message_label.setText("")
        self.update_budget()

    # ----- what the budget buys
    def current_speed_key(self) -> str | None:
        try:
            settings = self.form.settings()
            return speed_key(settings.model_config(), settings.train_config())
        except StudioError:
            return None

    def update_budget(self) -> None:
        """'120 s buys about N steps on this machine' from the speed the last such run measured."""
        project, key = self.document.project, self.current_speed_key()
        if project is None or key is None:
            self.budget_label.setText("")
            return
        rate = (project.settings.get(SPEED_KEY) or {}).get(key)
        self.budget_label.setText(budget_summary(self.form.settings().train_config(), rate))

    def _remember_speed(self, history: dict) -> None:
        rate, project = measured_rate(history), self.document.project
        if rate is None or self._speed_key is None or project is None:
            return
        speeds = {**(project.settings.get(SPEED_KEY) or {}), self._speed_key: round(rate, 4)}
        self.document.update_settings(**{SPEED_KEY: speeds})
        self.update_budget()
