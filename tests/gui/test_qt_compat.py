"""The PySide6 6.12.0 emit reference leak work-around keeps True alive through many emits."""

import sys

from PySide6.QtCore import QObject, Signal

from unet_studio.gui.qt_compat import emit


class _Source(QObject):
    changed = Signal(str)
    relayed = Signal(str)


class _Sink(QObject):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def on_changed(self, _text: str) -> bool:
        self.calls += 1
        return True  # a slot that returns a bool, like document.set_image


def test_many_emits_keep_the_reference_count_of_true():
    source, sink = _Source(), _Sink()
    source.changed.connect(sink.on_changed)
    source.changed.connect(source.relayed)  # signal to signal: no Python emit involved
    source.relayed.connect(sink.on_changed)
    before = sys.getrefcount(True)
    for _ in range(20_000):  # more emits than True has references after importing Qt
        emit(source.changed, "x")
    assert sink.calls == 40_000
    assert abs(sys.getrefcount(True) - before) <= 2
