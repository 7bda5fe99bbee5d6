"""PySide6: the installed (allowed) version keeps its references to None and True; 6.12.0 is refused."""

import sys

import PySide6
import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from unet_studio.core.errors import StudioError
from unet_studio.gui import qt_compat


class _Source(QObject):
    changed = Signal(str)


def test_singletons_keep_their_references_over_many_emits_and_callbacks(qapp):
    """On 6.12.0 each emit took a reference from True and each C++-called slot one from None."""
    source, calls = _Source(), []
    source.changed.connect(calls.append)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(lambda: calls.append("tick"))
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(20_000):
        source.changed.emit("x")
    for _ in range(3_000):
        timer.start()
        QApplication.processEvents()
        QApplication.processEvents()
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert len(calls) >= 22_000
    assert after[0] > before[0] - 1_000 and after[1] > before[1] - 1_000, (before, after)


def test_the_crashing_version_is_refused_with_one_line():
    with pytest.raises(StudioError, match="PySide6 6.12.0: .*install another"):
        qt_compat.check_pyside_version("6.12.0")
    qt_compat.check_pyside_version(PySide6.__version__)  # the installed one is allowed
    assert PySide6.__version__ not in qt_compat.BROKEN_VERSIONS
