"""The dataset browser dock: filterable table of images with thumbnails, status badges and splits."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from unet_studio.gui.dataset_model import (
    ID_ROLE, NAME, PROBLEM, SIZE, SPLIT, SPLITS, STATUSES, UNCERTAINTY, DatasetFilter, DatasetModel,
)
from unet_studio.gui.thumbnails import THUMBNAIL_SIZE, ThumbnailLoader


class SplitDelegate(QStyledItemDelegate):
    """Edits the split column with a train / val / test combo box."""

    def createEditor(self, parent, option, index):
        editor = QComboBox(parent)
        editor.addItems(SPLITS)
        return editor

    def setEditorData(self, editor, index):
        editor.setCurrentText(str(index.data()))

    def setModelData(self, editor, model, index):
        model.setData(index, editor.currentText())


class DatasetBrowser(QWidget):
    """Emits `image_selected(image_id)` when the user picks a row; follows the document's image."""

    image_selected = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.loader = ThumbnailLoader(self)
        self.model = DatasetModel(document, self.loader, self)
        self.proxy = DatasetFilter(self)
        self.proxy.setSourceModel(self.model)
        self.name_filter = QLineEdit()
        self.name_filter.setPlaceholderText("Filter by name")
        self.name_filter.setClearButtonEnabled(True)
        self.uncertain_button = QToolButton()
        self.uncertain_button.setObjectName("mostUncertainButton")
        self.uncertain_button.setText("Uncertain first")
        self.uncertain_button.setCheckable(True)
        self.uncertain_button.setToolTip("Sort the unlabelled images most uncertain first (scored while "
                                         "training live): paint those next")
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", "")
        for status in STATUSES + ("unreadable",):
            self.status_filter.addItem(status, status)
        self.view = QTableView()
        self.view.setObjectName("datasetBrowser")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # for predict/export
        self.view.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.view.verticalHeader().setDefaultSectionSize(THUMBNAIL_SIZE + 4)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a long name keeps its start and number
        self.view.setColumnHidden(SIZE, True)  # in the name's tooltip: the dock is narrow, names come first
        self.view.setItemDelegateForColumn(SPLIT, SplitDelegate(self.view))
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.SelectedClicked)
        filters = QHBoxLayout()
        filters.addWidget(self.name_filter, 2)
        filters.addWidget(self.status_filter, 1)
        filters.addWidget(self.uncertain_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.view)
        self.name_filter.textChanged.connect(self.proxy.set_text)
        self.status_filter.currentIndexChanged.connect(self._on_status_filter_changed)
        self.uncertain_button.toggled.connect(self.proxy.sort_most_uncertain)
        self.view.selectionModel().currentRowChanged.connect(self._on_view_current_row_changed)
        document.image_changed.connect(self.show_image)
        document.project_changed.connect(self._update_problem_column)
        document.project_changed.connect(self._update_uncertainty_column)
        self.model.dataChanged.connect(self._update_uncertainty_column)
        self.loader.thumbnail_failed.connect(self._update_problem_column)
        self._update_problem_column()
        self._update_uncertainty_column()

    def visible_ids(self) -> list[str]:
        """Image ids in the order the filtered view shows them."""
        return [self.proxy.index(r, NAME).data(ID_ROLE) for r in range(self.proxy.rowCount())]

    def step(self, offset: int) -> None:
        """Select the image `offset` rows away in the filtered view (PageDown / PageUp)."""
        rows = self.proxy.rowCount()
        if rows == 0:
            return
        current = self.view.currentIndex()
        row = current.row() + offset if current.isValid() else (0 if offset > 0 else rows - 1)
        self.view.setCurrentIndex(self.proxy.index(min(max(row, 0), rows - 1), NAME))

    def show_image(self, image_id: str) -> None:
        """Select the row of `image_id` without asking to open it again."""
        source_row = self.model.row_of(image_id) if image_id else None
        if source_row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(source_row, NAME))
        if index.isValid() and index.row() != self.view.currentIndex().row():
            blocked = self.view.selectionModel().blockSignals(True)
            self.view.setCurrentIndex(index)
            self.view.selectionModel().blockSignals(blocked)
            self.view.viewport().update()

    def _update_problem_column(self, *_args) -> None:
        """The Problem column takes room only while some file cannot be read."""
        self.view.setColumnHidden(PROBLEM, not self.loader.errors)

    def _update_uncertainty_column(self, *_args) -> None:
        """The Uncertainty column shows once live training has scored an image."""
        shown = self.model.has_uncertainty
        if self.view.isColumnHidden(UNCERTAINTY) == shown:
            self.view.setColumnHidden(UNCERTAINTY, not shown)

    def _on_status_filter_changed(self, _index: int) -> None:
        self.proxy.set_status(self.status_filter.currentData())

    def _on_view_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.image_selected.emit(current.data(ID_ROLE))
