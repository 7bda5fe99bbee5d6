"""The welcome page shown when no project is open: start buttons and the recent projects."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class WelcomePage(QWidget):
    """Emits what the user asked for; the window does the work."""

    new_requested = Signal()
    open_requested = Signal()
    demo_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h1>UNet Studio</h1><p>Label images, train a U-Net, predict and export masks.</p>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        new_button = QPushButton("New project from a folder of images...")
        open_button = QPushButton("Open project...")
        demo_button = QPushButton("Open the demo project")
        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        for button in (new_button, open_button, demo_button):
            layout.addWidget(button)
        layout.addWidget(QLabel("Recent projects (double-click to open):"))
        layout.addWidget(self.recent, 2)
        layout.addStretch(1)
        layout.setContentsMargins(120, 20, 120, 20)
        new_button.clicked.connect(self.new_requested)
        open_button.clicked.connect(self.open_requested)
        demo_button.clicked.connect(self.demo_requested)
        self.recent.itemActivated.connect(self._on_recent_item_activated)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {path}")
            item.setData(PATH_ROLE, path)
            self.recent.addItem(item)

    def _on_recent_item_activated(self, item: QListWidgetItem) -> None:
        self.recent_requested.emit(item.data(PATH_ROLE))
