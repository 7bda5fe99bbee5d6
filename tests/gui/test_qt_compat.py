"""The PySide6 6.12.0 guard: thousands of emits and C++-invoked callbacks do not free None or True."""

import sys

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from unet_studio.gui import qt_compat


class _Source(QObject):
    changed = Signal(str)


def test_singletons_survive_many_emits_and_callbacks(qapp):
    source, calls = _Source(), []
    source.changed.connect(calls.append)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(lambda: calls.append("tick"))
    for _ in range(20_000):  # more than True has references after importing Qt
        source.changed.emit("x")
    for _ in range(3_000):  # each slot call from C++ takes references from None on 6.12.0
        timer.start()
        QApplication.processEvents()
        QApplication.processEvents()
    assert len(calls) >= 22_000
    if qt_compat.PROTECTED:
        assert sys.getrefcount(None) > qt_compat.EXTRA_REFERENCES // 2
        assert sys.getrefcount(True) > qt_compat.EXTRA_REFERENCES // 2


def test_guard_applies_exactly_where_needed():
    needed = sys.version_info < (3, 12) and qt_compat.emit_loses_references()
    assert qt_compat.PROTECTED == needed
