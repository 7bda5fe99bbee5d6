"""The models dock: the project's trained models (date, architecture, images, validation Dice), with
add (a checkpoint or a bioimage.io package), set active, rename and delete (after confirmation)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMessageBox, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from unet_studio.core.errors import StudioError
from unet_studio.gui.widgets import named_button
from unet_studio.models.config import ARCH_TITLES
from unet_studio.models.package_checkpoint import PREDICT_ONLY_ARCH

COLUMNS = ("", "Name", "Created", "Architecture", "Images", "Val Dice")
MODEL_FILTER = "Models (*.pt *.zip);;UNet Studio checkpoints (*.pt);;bioimage.io packages (*.zip);;All files (*)"
ACTIVE_MARK = "\u2713"


def _cell(text: str, model_id: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, model_id)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ModelsPanel(QWidget):
    """Lists `document.project.models`; every change goes through the Project and is saved at once."""

    models_changed = Signal()

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.set_active())
        self.add_button = named_button("addModelButton", "Add model...", self.add_model)
        self.add_button.setToolTip("Add a UNet Studio checkpoint (.pt) or a bioimage.io package (.zip) with "
                                   "TorchScript or ONNX weights")
        self.activate_button = named_button("setActiveModelButton", "Set active", self.set_active)
        self.rename_button = named_button("renameModelButton", "Rename...", self.rename)
        self.delete_button = named_button("deleteModelButton", "Delete...", self.delete)
        self.message = QLabel()
        self.message.setObjectName("modelsMessageLabel")
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.activate_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        document.project_changed.connect(self.refresh)
        document.records_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the rows from the project, keeping the selected model selected."""
        selected = self.selected_id()
        project = self.document.project
        models = project.models if project is not None else ()
        active = project.active_model if project is not None else None
        self.table.setRowCount(len(models))
        for row, record in enumerate(models):
            dice = "" if record.val_dice is None else f"{record.val_dice:.3f}"
            texts = (ACTIVE_MARK if record.id == active else "", record.name, record.created.replace("T", " ")[:16],
                     ARCH_TITLES.get(record.architecture, record.architecture), str(record.n_images), dice)
            for column, text in enumerate(texts):
                self.table.setItem(row, column, _cell(text, record.id))
            if record.id == selected:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(Qt.ItemDataRole.UserRole) if rows else None

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        for button in (self.activate_button, self.rename_button, self.delete_button):
            button.setEnabled(has)

    def _change(self, method, *args) -> bool:
        """Call a bound Project method; its StudioError is shown in the panel."""
        try:
            method(*args)
        except StudioError as error:
            self.message.setText(str(error))
            return False
        self.message.setText("")
        self.refresh()
        self.models_changed.emit()
        return True

    def add_model(self, path: str | Path | None = None) -> bool:
        """Copy a model file into the project (not made active); asks for the file when `path` is None."""
        project = self.document.project
        if project is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Add model", str(project.folder), MODEL_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            self.document.register_model(path, path.name.split(".")[0], activate=False)
        except StudioError as error:
            self.message.setText(str(error))
            return False
        added = project.models[-1]
        self.message.setText(f"added {path.name}" + (": a bioimage.io package from elsewhere; it predicts but "
                                                     "cannot be fine-tuned here" if added.architecture ==
                                                     PREDICT_ONLY_ARCH else ""))
        self.refresh()
        self.models_changed.emit()
        return True

    def set_active(self) -> bool:
        """Make the selected model the one used for prediction and fine-tuning."""
        model_id = self.selected_id()
        return model_id is not None and self._change(self.document.project.set_active_model, model_id)

    def rename(self) -> bool:
        model_id = self.selected_id()
        if model_id is None:
            return False
        old = self.document.project.model(model_id).name
        name, ok = QInputDialog.getText(self, "Rename model", "Name:", text=old)
        name = name.strip()
        return bool(ok and name and name != old) and self._change(self.document.project.rename_model, model_id, name)

    def delete(self) -> bool:
        """Delete the selected model and its file, after the user confirms."""
        model_id = self.selected_id()
        if model_id is None:
            return False
        name = self.document.project.model(model_id).name
        answer = QMessageBox.question(self, "Delete model", f"Delete the model \u201c{name}\u201d and its file?")
        return answer == QMessageBox.StandardButton.Yes and self._change(self.document.project.remove_model, model_id)
