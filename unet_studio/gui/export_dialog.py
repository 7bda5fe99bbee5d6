"""The export dialog: masks, instance labels, overlays, measurements, ImageJ ROIs, QuPath GeoJSON and COCO
for the chosen images, plus the active model as ONNX / TorchScript. The work runs in an ExportWorker thread;
problems are listed one line each."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout, QLineEdit, QPlainTextEdit,
    QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from unet_studio.gui.export_worker import IMAGE_FORMATS, MODEL_FORMATS, ExportItem, ExportJob, ExportWorker
from unet_studio.gui.workers import start_worker, wait_for

FORMAT_TITLES = {"masks": "Masks (PNG)", "instances": "Instance labels (TIFF)", "overlay": "Overlays (PNG)",
                 "csv": "Measurements (CSV)", "roi": "ImageJ ROIs (zip)", "geojson": "QuPath GeoJSON",
                 "coco": "COCO JSON", "onnx": "Model as ONNX", "torchscript": "Model as TorchScript"}
SOURCE_TITLES = {"predictions": "Predictions", "annotations": "Annotations"}


class ExportDialog(QDialog):
    """Exports `image_ids` of the document's project; `export_finished(written, problems)` when done."""

    export_finished = Signal(list, list)

    def __init__(self, document, image_ids: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle(f"Export {len(image_ids)} image(s)")
        self.document, self.image_ids = document, list(image_ids)
        self.worker: ExportWorker | None = None
        self.thread: QThread | None = None
        self.source = QComboBox()
        self.source.setObjectName("exportSourceCombo")
        for value, title in SOURCE_TITLES.items():
            self.source.addItem(title, value)
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for n, fmt in enumerate((*IMAGE_FORMATS, *MODEL_FORMATS)):
            box = QCheckBox(FORMAT_TITLES[fmt])
            box.setObjectName(f"export_{fmt}")
            self.checks[fmt] = box
            grid.addWidget(box, n // 2, n % 2)
        self.checks["masks"].setChecked(True)
        has_model = document.project is not None and document.project.active_model is not None
        for fmt in MODEL_FORMATS:
            self.checks[fmt].setEnabled(has_model)
            self.checks[fmt].setToolTip("" if has_model else "no active model")
        self.folder = QLineEdit(str(document.project.folder / "exports") if document.project else "")
        self.folder.setObjectName("exportFolderEdit")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.progress = QProgressBar()
        self.report = QPlainTextEdit()
        self.report.setObjectName("exportReport")
        self.report.setReadOnly(True)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("exportButton")
        self.export_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        form = QFormLayout()
        form.addRow("Labels from", self.source)
        form.addRow("Output folder", folder_row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.report, 1)
        layout.addLayout(buttons)

    def set_formats(self, formats: list[str]) -> None:
        for fmt, box in self.checks.items():
            box.setChecked(fmt in formats and box.isEnabled())

    def job(self) -> ExportJob:
        """What to export, with every path resolved here on the GUI thread."""
        project = self.document.project
        from_predictions = self.source.currentData() == "predictions"
        items = []
        for image_id in self.image_ids:
            if from_predictions:
                labels = project.prediction_path(image_id)
            else:
                labels = project.annotation_path(image_id)
            items.append(ExportItem(image_id, project.image_path(image_id), labels, not from_predictions))
        chosen = [fmt for fmt, box in self.checks.items() if box.isChecked() and box.isEnabled()]
        model = project.model_path(project.active_model) if project.active_model else None
        return ExportJob(Path(self.folder.text()).expanduser(), tuple(items),
                         tuple(f for f in chosen if f in IMAGE_FORMATS), tuple(project.classes), model,
                         tuple(f for f in chosen if f in MODEL_FORMATS))

    def start(self) -> bool:
        """Export in a worker thread; False when nothing is chosen or a run is going."""
        if self.worker is not None or self.document.project is None:
            return False
        job = self.job()
        if not job.formats and not job.model_formats:
            self.report.setPlainText("Choose at least one format.")
            return False
        if not self.folder.text().strip():
            self.report.setPlainText("Choose an output folder.")
            return False
        self.report.setPlainText("Exporting...")
        self.export_button.setEnabled(False)
        self.worker = ExportWorker(job)
        self.worker.progress_changed.connect(self._on_worker_progress_changed)
        self.worker.exported.connect(self._on_worker_exported)
        self.worker.finished.connect(self._on_worker_finished)
        self.thread = start_worker(self.worker, self)
        return True

    def reject(self) -> None:
        """Closing cancels a running export and waits for it."""
        if self.worker is not None:
            self.worker.stop()
        wait_for(self.thread)
        super().reject()

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _on_worker_progress_changed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_worker_exported(self, written: list, problems: list) -> None:
        lines = [f"{len(written)} file(s) written to {self.folder.text()}"]
        lines += [f"problem: {line}" for line in problems]
        self.report.setPlainText("\n".join(lines))
        self.export_finished.emit(written, problems)

    def _on_worker_finished(self) -> None:
        wait_for(self.thread)
        self.worker, self.thread = None, None
        self.export_button.setEnabled(True)
