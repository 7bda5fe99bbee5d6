"""The class list: pick the class to paint, add, rename, recolour and delete classes.

Background (value 1) always exists and cannot be deleted. The selected row is the tools' class.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from unet_studio.core.annotations import BACKGROUND

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1


def _swatch(rgb: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class ClassListWidget(QWidget):
    """List of the project's classes with add / rename / colour / delete buttons."""

    def __init__(self, document, tools, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tools = tools
        self.list = QListWidget(self)
        self.list.setObjectName("classList")
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.colour_button = QPushButton("Colour")
        self.delete_button = QPushButton("Delete")
        for button in (self.add_button, self.colour_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._filling = False
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.colour_button.clicked.connect(self._on_colour_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.list.itemChanged.connect(self._on_list_item_changed)
        document.classes_changed.connect(self.refill)
        tools.class_changed.connect(self._select_value)
        self.refill()

    def values(self) -> list[int]:
        """Class values in list order (row n is key n + 1)."""
        return [self.list.item(i).data(VALUE_ROLE) for i in range(self.list.count())]

    def refill(self) -> None:
        """Rebuild the rows from the project's classes, keeping the tools' class selected."""
        self._filling = True
        self.list.clear()
        project = self.document.project
        for info in sorted(project.classes, key=lambda c: c.value) if project is not None else []:
            item = QListWidgetItem(_swatch(self.document.class_colours()[info.value]), info.name)
            item.setData(VALUE_ROLE, int(info.value))
            item.setToolTip(f"Key {info.value}" if info.value <= 9 else "")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            self.list.addItem(item)
        self._filling = False
        self._select_value(self.tools.class_value)

    def select_row(self, row: int) -> None:
        """Keys 1-9: choose the class in row `row` (0 = background)."""
        if 0 <= row < self.list.count():
            self.list.setCurrentRow(row)

    def _select_value(self, value: int) -> None:
        for row, candidate in enumerate(self.values()):
            if candidate == value:
                self.list.setCurrentRow(row)
        self.delete_button.setEnabled(value != BACKGROUND)

    def _on_list_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and not self._filling:
            self.tools.set_class_value(current.data(VALUE_ROLE))
            self.delete_button.setEnabled(current.data(VALUE_ROLE) != BACKGROUND)

    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        if not self._filling and item.text().strip():
            self.document.rename_class(item.data(VALUE_ROLE), item.text().strip())

    def _on_add_button_clicked(self) -> None:
        value = self.document.add_class(f"class {max(self.values(), default=0) + 1}")  # the key that picks it
        if value is not None:
            self.tools.set_class_value(value)
            self.list.editItem(self.list.currentItem())

    def _on_colour_button_clicked(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        current = QColor(*self.document.class_colours()[item.data(VALUE_ROLE)])
        colour = QColorDialog.getColor(current, self, "Class colour")
        if colour.isValid():
            self.document.recolour_class(item.data(VALUE_ROLE), (colour.red(), colour.green(), colour.blue()))

    def _on_delete_button_clicked(self) -> None:
        item = self.list.currentItem()
        if item is None or item.data(VALUE_ROLE) == BACKGROUND:
            return
        answer = QMessageBox.question(
            self, "Delete class", f"Delete class '{item.text()}'? Its pixels become unlabelled in every image."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.document.delete_class(item.data(VALUE_ROLE))
