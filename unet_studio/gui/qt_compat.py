"""Refuse PySide6 6.12.0 with one line instead of crashing later (imported by `unet_studio.gui` first).

PySide6 6.12.0 drops one reference to True on every Python `Signal.emit()` and to None on every slot that
C++ calls; after a minute of painting CPython 3.11 frees the singleton and aborts. `pyproject.toml` excludes
that version; this check covers an environment that installed it anyway. Allowed versions need no patch:
tests/gui/test_qt_compat.py emits thousands of signals and checks that the reference counts hold.
"""

from __future__ import annotations

import PySide6

from unet_studio.core.errors import StudioError

BROKEN_VERSIONS = frozenset({"6.12.0"})


def check_pyside_version(version: str = PySide6.__version__) -> None:
    """Raise a one-line StudioError for a PySide6 version known to crash the app."""
    if version in BROKEN_VERSIONS:
        raise StudioError(f"PySide6 {version}", "this version loses references on every signal and crashes; "
                                                "install another one: pip install 'PySide6-Essentials!=6.12.0'")


check_pyside_version()
