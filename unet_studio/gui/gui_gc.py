"""Python's cyclic garbage collector runs only on the GUI thread while the app runs (STYLE.md section 6).

The collector runs on whichever thread happens to allocate. If it frees the wrappers of Qt objects there
(closed dialogs, menus, windows, lambdas in reference cycles), their C++ destructors run on a worker thread
and deadlock or crash Qt. So automatic collection is switched off and a GUI-thread timer collects instead,
generation by generation as the allocation counts pass the usual thresholds (pyqtgraph's GarbageCollector
recipe, here as a QObject owned by the application so it lives and dies with it).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 100


class GuiThreadCollector(QObject):
    """While started: gc disabled, and `collect_due()` every CHECK_INTERVAL_MS on the GUI thread."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS):
        super().__init__(parent)
        self.setObjectName("guiThreadCollector")
        self.thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.collect_due)

    @property
    def active(self) -> bool:
        return self.timer.isActive()

    def start(self) -> None:
        """Automatic collection off; the timer collects from now on (call on the GUI thread)."""
        if not self.active:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self.timer.start()

    def stop(self) -> None:
        """Collect everything now, on this thread, then give collection back to Python as it was."""
        self.timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold (younger ones with it); returns objects freed."""
        counts, due = gc.get_count(), -1
        for generation in range(3):
            if counts[generation] <= self.thresholds[generation]:
                break
            due = generation
        return gc.collect(due) if due >= 0 else 0


def install_gui_collector(app: QObject) -> GuiThreadCollector:
    """The application's collector, made and started on first call (idempotent)."""
    collector = app.findChild(GuiThreadCollector, "guiThreadCollector")
    if collector is None:
        collector = GuiThreadCollector(app)
    collector.start()
    return collector
