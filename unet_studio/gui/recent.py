"""Recent projects, stored with QSettings (most recent first, at most MAX_RECENT)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10
KEY = "recentProjects"


class RecentProjects:
    """Thin wrapper over a QSettings list; pass a QSettings on an .ini file in tests."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def paths(self) -> list[str]:
        """Stored paths that still exist, most recent first."""
        value = self.settings.value(KEY, [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if Path(p).exists()]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue(KEY, paths[:MAX_RECENT])
        self.settings.sync()

    def clear(self) -> None:
        self.settings.setValue(KEY, [])
        self.settings.sync()
