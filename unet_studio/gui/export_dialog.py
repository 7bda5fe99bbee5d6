"""The export dialog: masks, instance labels, overlays, measurements, ImageJ ROIs, QuPath GeoJSON and COCO
for the selected images or all of them, plus the active model as ONNX / TorchScript. The work runs in an
ExportWorker thread on the same loop as `unet-studio export`; problems are listed one line each."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
    QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget,
)

from unet_studio.core.errors import StudioError
from unet_studio.core.images import image_info
from unet_studio.export.api import ExportSource
from unet_studio.gui.export_worker import IMAGE_FORMATS, MIN_INSTANCE_SIZE, MODEL_FORMATS, ExportJob, ExportWorker
from unet_studio.gui.workers import start_worker, wait_for

FORMAT_TITLES = {"masks": "Masks (PNG)", "instances": "Instance labels (TIFF)", "overlay": "Overlays (PNG)",
                 "csv": "Measurements (CSV)", "roi": "ImageJ ROIs (zip)", "geojson": "QuPath GeoJSON",
                 "coco": "COCO JSON", "onnx": "Model as ONNX", "torchscript": "Model as TorchScript",
                 "bioimageio": "Model as bioimage.io package"}
SOURCE_TITLES = {"predictions": "Predictions", "annotations": "Annotations"}


class ExportDialog(QDialog):
    """Exports the selected `image_ids`, or every image of the project when "All images" is chosen;
    `export_finished(written, problems)` when done."""

    export_finished = Signal(list, list)

    def __init__(self, document, image_ids: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.document, self.selected_ids = document, list(image_ids)
        self.all_ids = [record.id for record in document.records]
        self.worker: ExportWorker | None = None
        self.thread: QThread | None = None
        self.source = QComboBox()
        self.source.setObjectName("exportSourceCombo")
        for value, title in SOURCE_TITLES.items():
            self.source.addItem(title, value)
        self.selected_radio = QRadioButton(f"Selected images ({len(self.selected_ids)})")
        self.selected_radio.setObjectName("exportSelectedRadio")
        self.all_radio = QRadioButton(f"All images ({len(self.all_ids)})")
        self.all_radio.setObjectName("exportAllRadio")
        scope = QButtonGroup(self)
        scope.addButton(self.selected_radio)
        scope.addButton(self.all_radio)
        (self.selected_radio if self.selected_ids else self.all_radio).setChecked(True)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.selected_radio)
        scope_row.addWidget(self.all_radio)
        scope_row.addStretch(1)
        self.summary = QLabel()
        self.summary.setObjectName("exportSummaryLabel")
        self.min_size = QSpinBox()
        self.min_size.setObjectName("exportMinSizeSpin")
        self.min_size.setRange(0, 100000)
        self.min_size.setValue(MIN_INSTANCE_SIZE)
        self.min_size.setSuffix(" px")
        self.min_size.setToolTip("Objects smaller than this are left out of every format (0 keeps them all), "
                                 "as `unet-studio predict --instances` does")
        self.checks = self._format_checks()
        grid = QGridLayout()
        for n, box in enumerate(self.checks.values()):
            grid.addWidget(box, n // 2, n % 2)
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
        form.addRow("Images", scope_row)
        form.addRow("Labels from", self.source)
        form.addRow("", self.summary)
        form.addRow("Leave out objects under", self.min_size)
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
        self.source.currentIndexChanged.connect(self._update_summary)
        self.all_radio.toggled.connect(self._update_summary)
        self._update_summary()

    def _format_checks(self) -> dict[str, QCheckBox]:
        checks: dict[str, QCheckBox] = {}
        for fmt in (*IMAGE_FORMATS, *MODEL_FORMATS):
            box = QCheckBox(FORMAT_TITLES[fmt])
            box.setObjectName(f"export_{fmt}")
            checks[fmt] = box
        checks["masks"].setChecked(True)
        project = self.document.project
        has_model = project is not None and project.active_model is not None
        for fmt in MODEL_FORMATS:
            checks[fmt].setEnabled(has_model)
            checks[fmt].setToolTip("" if has_model else "no active model")
        return checks

    @property
    def image_ids(self) -> list[str]:
        """The images this export covers: the selection, or all of the project's."""
        return self.all_ids if self.all_radio.isChecked() else self.selected_ids

    def set_formats(self, formats: list[str]) -> None:
        for fmt, box in self.checks.items():
            box.setChecked(fmt in formats and box.isEnabled())

    def sources(self) -> list[ExportSource]:
        """Each chosen image with its prediction or annotation file (None when it has none); a stack gives one
        source per plane that has labels (or a prediction)."""
        project = self.document.project
        from_predictions = self.source.currentData() == "predictions"
        found = []
        for image_id in self.image_ids:
            image, n_planes = project.image_path(image_id), project.n_planes(image_id)
            if n_planes > 1:
                found.extend(self._plane_sources(project, image_id, from_predictions))
            elif from_predictions:
                found.append(ExportSource(image, project.prediction_path(image_id), "semantic",
                                          "nothing to export: no prediction for this image"))
            else:
                found.append(ExportSource(image, project.annotation_path(image_id), "annotation",
                                          "nothing to export: no annotation for this image"))
        return found

    @staticmethod
    def _plane_sources(project, image_id: str, from_predictions: bool) -> list[ExportSource]:
        image, planes = project.image_path(image_id), range(project.n_planes(image_id))
        if from_predictions:
            found = [ExportSource(image, project.prediction_path(image_id, p), "semantic", plane=p) for p in planes
                     if project.prediction_path(image_id, p) is not None]
            missing = "nothing to export: no plane of this stack is predicted"
        else:
            path = project.annotation_path(image_id)
            try:  # an old project's one-page file is plane 0's labels (core.plane_labels)
                one_page = path is not None and image_info(path).n_planes == 1
                labels = project.load_label_planes(image_id) if path is not None else []
            except StudioError as error:
                return [ExportSource(image, None, "annotation", str(error))]
            found = [ExportSource(image, path, "annotation", plane=p, label_page=None if one_page else p)
                     for p, plane_labels in enumerate(labels) if plane_labels.any()]
            missing = "nothing to export: no plane of this stack is labelled"
        return found or [ExportSource(image, None, "annotation", missing)]

    def job(self) -> ExportJob:
        """What to export, with every path resolved here on the GUI thread."""
        project = self.document.project
        chosen = [fmt for fmt, box in self.checks.items() if box.isChecked() and box.isEnabled()]
        model = project.model_path(project.active_model) if project.active_model else None
        return ExportJob(Path(self.folder.text()).expanduser(), tuple(self.sources()),
                         tuple(f for f in chosen if f in IMAGE_FORMATS), tuple(project.classes), model,
                         tuple(f for f in chosen if f in MODEL_FORMATS), self.min_size.value())

    def start(self) -> bool:
        """Export in a worker thread; False when nothing is chosen or a run is going."""
        if self.worker is not None or self.document.project is None:
            return False
        self.document.save_now()  # the annotations on disk include the last strokes
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

    def _update_summary(self, *_args) -> None:
        """Say how many images the export will write, and how many have nothing to export."""
        if self.document.project is None:
            return
        sources = self.sources()
        ready = sum(source.labels is not None for source in sources)
        kind = "prediction" if self.source.currentData() == "predictions" else "annotation"
        missing = len(sources) - ready
        self.summary.setText(f"{ready} of {len(sources)} image(s) will be exported"
                             + (f" ({missing} without a {kind})" if missing else ""))
        self.setWindowTitle(f"Export {ready} image(s)")

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
