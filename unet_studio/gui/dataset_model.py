"""Table model of the project's images (thumbnail + name, size, status, split, problem, uncertainty) and
its filter, which also sorts "most uncertain first" (scores from live training: live_worker.py)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import PurePath

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QImage, QPixmap

from unet_studio.core.manifest import SPLITS, STATUSES
from unet_studio.gui.thumbnails import ThumbnailLoader

STATUS_COLOURS = {
    "unlabelled": QColor(140, 140, 140),
    "partial": QColor(230, 160, 40),
    "labelled": QColor(60, 170, 80),
    "predicted": QColor(70, 130, 220),
    "reviewed": QColor(150, 90, 210),
    "unreadable": QColor(220, 60, 60),
}
ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
SORT_ROLE = Qt.ItemDataRole.UserRole + 3
NAME, SIZE, STATUS, SPLIT, PROBLEM, UNCERTAINTY = range(6)
HEADERS = ("Image", "Size", "Status", "Split", "Problem", "Uncertainty")
UNLABELLED = ("unlabelled", "predicted")  # the images whose uncertainty says where to paint next


def _pixmap(array) -> QPixmap:
    h, w = array.shape[:2]
    if array.ndim == 3:
        image = QImage(array.data, w, h, w * 3, QImage.Format.Format_RGB888)
    else:
        image = QImage(array.data, w, h, w, QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


class DatasetModel(QAbstractTableModel):
    """One row per ImageRecord of the document's project; thumbnails load lazily when shown."""

    def __init__(self, document, loader: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.document = document
        self.loader = loader
        self._records: list = []
        self._rows: dict[str, int] = {}
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()  # bounded like the loader's cache
        self._uncertainty: dict[str, float] = {}  # mean uncertainty of unlabelled images (live training)
        loader.thumbnail_ready.connect(self._on_loader_thumbnail)
        loader.thumbnail_failed.connect(self._on_loader_thumbnail)
        document.project_changed.connect(self._on_document_project_changed)
        document.records_changed.connect(self.reload)

    def reload(self) -> None:
        """Re-read the records (statuses, splits, added images) from the document's project."""
        records = self.document.records
        if [r.id for r in records] != [r.id for r in self._records]:
            self.beginResetModel()
            self._records = records
            self._rows = {r.id: i for i, r in enumerate(records)}
            self.endResetModel()
        else:
            self._records = records
            if records:
                self.dataChanged.emit(self.index(0, 0), self.index(len(records) - 1, len(HEADERS) - 1))

    def record_at(self, row: int):
        return self._records[row]

    def row_of(self, image_id: str) -> int | None:
        return self._rows.get(image_id)

    def status(self, record) -> str:
        return "unreadable" if record.id in self.loader.errors else str(record.status)

    def set_uncertainty(self, image_id: str, value: float) -> None:
        """The mean uncertainty the live model has on an unlabelled image (shown and sorted on)."""
        self._uncertainty[image_id] = float(value)
        row = self._rows.get(image_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, UNCERTAINTY), self.index(row, UNCERTAINTY))

    def uncertainty(self, record) -> float | None:
        """The image's score while it is unlabelled; None when it has none or has labels now."""
        return self._uncertainty.get(record.id) if self.status(record) in UNLABELLED else None

    @property
    def has_uncertainty(self) -> bool:
        return bool(self._uncertainty)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index):
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == SPLIT else base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record, column = self._records[index.row()], index.column()
        if role == ID_ROLE:
            return record.id
        if role == STATUS_ROLE:
            return self.status(record)
        if role == SORT_ROLE:  # most uncertain first sorts descending; images without a score go last
            value = self.uncertainty(record) if column == UNCERTAINTY else None
            return -1.0 if value is None else value
        if role == Qt.ItemDataRole.ToolTipRole:
            size = f"\n{record.width} x {record.height} px" if record.width else ""
            return self.loader.errors.get(record.id, f"{record.path}{size}")
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return self._thumbnail(record)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return STATUS_COLOURS.get(self.status(record))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(record, column)
        return None

    def _text(self, record, column: int) -> str:
        if column == NAME:
            return PurePath(record.path).name
        if column == SIZE:
            return f"{record.width} x {record.height}" if record.width else ""
        if column == STATUS:
            return status_text(record, self.status(record))
        if column == SPLIT:
            return str(record.split)
        if column == UNCERTAINTY:
            value = self.uncertainty(record)
            return "" if value is None else f"{value:.2f}"
        return self.loader.errors.get(record.id, "")

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if index.column() != SPLIT or value not in SPLITS:
            return False
        self.document.set_split(self._records[index.row()].id, value)
        return True

    def _thumbnail(self, record):
        pixmap = self._pixmaps.get(record.id)
        if pixmap is not None:
            self._pixmaps.move_to_end(record.id)
            return pixmap
        array = self.loader.get(record.id)
        if array is None:
            self._pixmaps.pop(record.id, None)
            self.loader.request(record.id, self.document.image_path(record.id))
            return None
        self._pixmaps[record.id] = pixmap = _pixmap(array)
        while len(self._pixmaps) > self.loader.cache_size:
            self._pixmaps.popitem(last=False)
        return pixmap

    def _on_loader_thumbnail(self, image_id: str, *_error) -> None:
        row = self._rows.get(image_id)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def _on_document_project_changed(self) -> None:
        self.loader.clear()
        self._pixmaps.clear()
        self._uncertainty.clear()
        self._records = []
        self.reload()


class DatasetFilter(QSortFilterProxyModel):
    """Filters rows by status ("" = all) and by a case-insensitive piece of the name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._status = ""
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def sort_most_uncertain(self, on: bool) -> None:
        """Most uncertain unlabelled images first (kept sorted as scores arrive), or the project's order."""
        if on:
            self.sort(UNCERTAINTY, Qt.SortOrder.DescendingOrder)
        else:
            self.sort(-1)

    def set_status(self, status: str) -> None:
        self._status = status
        self.invalidate()

    def set_text(self, text: str) -> None:
        self._text = text.strip().lower()
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        index = model.index(source_row, NAME, source_parent)
        if self._status and model.data(index, STATUS_ROLE) != self._status:
            return False
        return not self._text or self._text in str(model.data(index)).lower()


def status_text(record, status: str) -> str:
    """The status column: a stack's status with how many of its planes hold labels ("partial (3/20 planes
    labelled)"); the split stays per image."""
    if not record.planes or record.planes < 2 or status == "unreadable":
        return status
    if record.labelled_planes is None:
        return f"{status} ({record.planes} planes)"
    return f"{status} ({record.labelled_planes}/{record.planes} planes labelled)"
