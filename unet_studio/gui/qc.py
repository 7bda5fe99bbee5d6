"""The quality-control dock: after each training run, the new model's per-class Dice/IoU on the validation
images it was validated on in training next to the previous model's, with a visible warning banner when the
new model is worse or predicts one class everywhere (nothing, or everything). The scoring runs in a QcWorker
thread.

After a run it also decides which model is active (core.model_choice on these same scores): a new model
worse than the active one, or from an interrupted run, is kept but not made active; the panel says so and
offers the other model as a one-click switch."""

from __future__ import annotations

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from unet_studio.core.errors import StudioError
from unet_studio.core.model_choice import ActiveChoice, ModelCandidate, choose_active_model
from unet_studio.gui.qc_worker import QcJob, QcWorker
from unet_studio.gui.workers import start_worker, wait_for
from unet_studio.inference.scoring import ModelScores, QcImage, warnings_for
from unet_studio.models.checkpoint import load_checkpoint

BANNER_STYLE = "background: #b3261e; color: white; padding: 6px; border-radius: 4px; font-weight: bold;"
COLUMNS = ("Class", "Dice (new)", "IoU (new)", "Dice (previous)", "IoU (previous)")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class QcPanel(QWidget):
    """Compares models on the project's validation images; `qc_finished(warnings)` when done."""

    qc_finished = Signal(list)
    active_model_changed = Signal(str)  # one line saying which model is active now and why

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.previous_model: str | None = None
        self.worker: QcWorker | None = None
        self.thread: QThread | None = None
        self.warnings: list[str] = []
        self.choice: ActiveChoice | None = None
        self._deciding: tuple[str, bool, str | None] | None = None  # new model, interrupted, previous model
        self._note = "the validation images"
        self._closing = False  # set by shutdown(): no check starts after it (its thread would outlive the window)
        self.banner = QLabel()
        self.banner.setObjectName("qcBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        self.summary = QLabel("Train a model to see how it does on the validation images.")
        self.summary.setObjectName("qcSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("qcTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.choice_label = QLabel()
        self.choice_label.setObjectName("qcChoiceLabel")
        self.choice_label.setWordWrap(True)
        self.switch_button = QPushButton()
        self.switch_button.setObjectName("switchActiveModelButton")
        self.switch_button.clicked.connect(self.switch_active)
        self.switch_button.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.choice_label)
        layout.addWidget(self.switch_button)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    # ----- hooks for the training panel's signals
    def remember_previous(self) -> None:
        """Training started: the model active now is the one to compare the new model with."""
        project = self.document.project
        self.previous_model = project.active_model if project is not None else None

    def on_training_finished(self, event) -> bool:
        """Training ended: score the new model against the remembered one, then choose the active model."""
        project = self.document.project
        if self._closing or event is None or event.checkpoint_path is None or project is None:
            return False  # closing: the new model stays registered, the active one unchanged
        new_model = next((m.id for m in project.models if project.model_path(m.id) == event.checkpoint_path), None)
        if new_model is None:
            return False
        known = {m.id for m in project.models}
        previous = self.previous_model if self.previous_model in known - {new_model} else None
        self._deciding = (new_model, bool(event.interrupted), previous)
        if self.compare(new_model, previous):
            return True
        self._decide(None, None)  # nothing to score on: decided without scores
        return False

    # ----- checking
    def validation_images(self, validated_on: list[str] | None = None) -> tuple[list[QcImage], str]:
        """The labelled images the model was validated on in training (`validated_on`: file names, from its
        checkpoint's history), so that the Quality panel scores what the training line scored; else the
        labelled 'val' images, or every labelled image when none is marked 'val' (and a note saying so)."""
        project = self.document.project
        labelled = []
        for record in project.images:
            labelled.extend((record.split, item) for item in self._labelled_planes(project, record.id))
        same = [item for _, item in labelled if item.name in set(validated_on or ())]
        if same and len(same) == len(validated_on):
            return same, f"the {len(same)} image(s) it was validated on in training"
        val = [item for split, item in labelled if split == "val"]
        if val:
            return val, f"{len(val)} validation image(s)"
        return [item for _, item in labelled], f"no validation images: scored on {len(labelled)} labelled image(s)"

    @staticmethod
    def _labelled_planes(project, image_id: str) -> list[QcImage]:
        """The image's QcImage (a stack: one per plane that holds labels), [] when it has no labels."""
        path, n = project.annotation_path(image_id), project.n_planes(image_id)
        if path is None:
            return []
        if n == 1:
            return [QcImage(image_id, project.image_path(image_id), path)]
        try:
            planes = project.load_label_planes(image_id)
        except StudioError:  # scored as one plane: score_model names the problem
            return [QcImage(image_id, project.image_path(image_id), path, 0, n)]
        return [QcImage(image_id, project.image_path(image_id), path, p, n) for p in range(n) if planes[p].any()]

    def compare(self, new_model: str, previous_model: str | None = None) -> bool:
        """Score `new_model` (and `previous_model`) in a worker thread; False if nothing to score."""
        project = self.document.project
        if self._closing or self.worker is not None or project is None:
            return False
        try:
            models = [(m, project.model(m).name, project.model_path(m)) for m in (new_model, previous_model) if m]
            validated_on = load_checkpoint(models[0][2]).history.get("validation_images")
        except StudioError as error:
            self.summary.setText(str(error))
            return False
        images, note = self.validation_images(validated_on)
        if not images:
            self.summary.setText("No labelled images to check the model on.")
            return False
        self.worker = QcWorker(QcJob(tuple(models), tuple(images)))
        self.worker.scored.connect(self._on_worker_scored)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.finished.connect(self._on_worker_finished)
        self._note = note
        self.summary.setText(f"Checking {models[0][1]} on {note}...")
        self.thread = start_worker(self.worker, self)
        return True

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop a running check and wait for its thread; no check starts afterwards (the window is closing)."""
        self._closing = True
        if self.worker is not None:
            self.worker.stop()
        return wait_for(self.thread, timeout_ms)

    # ----- results
    def _on_worker_scored(self, new: ModelScores, previous: ModelScores | None) -> None:
        self.warnings = warnings_for(new, previous)
        self._decide(new, previous)
        self.banner.setText("\n".join(self.warnings))
        self.banner.setVisible(bool(self.warnings))
        names = {c.value - 1: c.name for c in self.document.project.classes}
        classes = sorted(set(new.per_class) | set(previous.per_class if previous else {}))
        self.table.setRowCount(len(classes))
        for row, k in enumerate(classes):
            before = previous.per_class.get(k, (None, None)) if previous else (None, None)
            cells = (names.get(k, f"class {k}"), *map(_number, new.per_class.get(k, (None, None))), *map(_number, before))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        against = f" vs {previous.name} ({_number(previous.mean_dice)})" if previous else ""
        problems = [*new.problems, *(previous.problems if previous else ())]
        self.summary.setText("\n".join([f"{new.name}: mean Dice {_number(new.mean_dice)}{against} on {self._note}",
                                        *problems]))

    def _on_worker_failed(self, message: str) -> None:
        self.warnings = []
        self.summary.setText(message)
        self._decide(None, None)

    def _on_worker_finished(self) -> None:
        wait_for(self.thread)
        self.worker, self.thread = None, None
        self._deciding = None  # stopped before scoring (window closing): the active model stays
        self.qc_finished.emit(list(self.warnings))

    # ----- the active model
    def _decide(self, new: ModelScores | None, previous: ModelScores | None) -> None:
        """Apply choose_active_model to the run being checked (scores None when they could not be made)."""
        if self._deciding is None:
            return
        new_id, interrupted, previous_id = self._deciding
        self._deciding = None
        project = self.document.project
        try:
            candidate = ModelCandidate(new_id, project.model(new_id).name, new.mean_dice if new else None)
            active = None if previous_id is None else ModelCandidate(
                previous_id, project.model(previous_id).name, previous.mean_dice if previous else None)
        except StudioError as error:  # a model was deleted meanwhile
            self.choice_label.setText(str(error))
            return
        choice = choose_active_model(candidate, active, interrupted, self._note)
        if choice.active != new_id and not self.warnings:
            self.warnings.append(choice.message)  # kept the active model: worth raising the dock for
        self._apply(choice)

    def _apply(self, choice: ActiveChoice) -> None:
        try:
            self.document.project.set_active_model(choice.active)
            other = self.document.project.model(choice.alternative).name if choice.alternative else None
        except StudioError as error:
            self.choice_label.setText(str(error))
            return
        self.choice = choice
        self.choice_label.setText(choice.message)
        self.switch_button.setText(f"Use {other} instead" if other else "")
        self.switch_button.setVisible(other is not None)
        self.active_model_changed.emit(choice.message)

    def switch_active(self) -> bool:
        """The one-click switch: make the other model of the last choice active (and offer the way back)."""
        if self.choice is None or self.choice.alternative is None:
            return False
        try:
            name = self.document.project.model(self.choice.alternative).name
        except StudioError as error:  # deleted in the Models panel since
            self.choice_label.setText(str(error))
            self.switch_button.hide()
            return False
        self._apply(ActiveChoice(self.choice.alternative, self.choice.active, f"{name} is now the active model"))
        return self.choice.active == self.document.project.active_model
