"""What the window remembers between sessions (QSettings): its geometry and docks, the brush size, and the
last image shown in each project."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

GEOMETRY, DOCKS, BRUSH = "window/geometry", "window/docks", "tools/brushSize"


def _project_key(folder: str | Path) -> str:
    digest = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:16]
    return f"lastImage/{digest}"  # a hash: paths hold characters QSettings keys do not


class WindowMemory:
    """Thin wrapper over QSettings; pass a QSettings on an .ini file in tests."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def save_window(self, window: QMainWindow, brush_size: int) -> None:
        self.settings.setValue(GEOMETRY, window.saveGeometry())
        self.settings.setValue(DOCKS, window.saveState())
        self.settings.setValue(BRUSH, int(brush_size))
        self.settings.sync()

    def restore_window(self, window: QMainWindow) -> None:
        """Geometry and dock layout as they were at the last quit (nothing on a first start)."""
        geometry, docks = self.settings.value(GEOMETRY), self.settings.value(DOCKS)
        if isinstance(geometry, QByteArray):
            window.restoreGeometry(geometry)
        if isinstance(docks, QByteArray):
            window.restoreState(docks)

    def brush_size(self, default: int) -> int:
        try:
            return int(self.settings.value(BRUSH, default))
        except (TypeError, ValueError):
            return default

    def last_image(self, folder: str | Path) -> str | None:
        value = self.settings.value(_project_key(folder))
        return str(value) if value else None

    def remember_image(self, folder: str | Path, image_id: str) -> None:
        self.settings.setValue(_project_key(folder), image_id)
