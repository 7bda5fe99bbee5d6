"""Start a QObject worker in its own QThread (the superqt `new_worker_qthread` wiring, STYLE.md section 3).

A worker has a `run()` slot and a `finished` signal it emits last, whatever happened. The thread starts
`run` and is told to quit from the worker thread itself as `finished` is emitted (quit is thread-safe), so
the GUI side can `wait_for` it at once in its own finished slot; a QThread destroyed while still running
aborts the process.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread


def start_worker(worker: QObject, parent: QObject | None = None) -> QThread:
    """Move `worker` to a new thread, start it, and clean both up after `worker.finished`."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread


def wait_for(thread: QThread | None, timeout_ms: int = 30000) -> bool:
    """Block until `thread` ends (closing the window, tests); True when it ended or was never started."""
    if thread is None:
        return True
    try:
        return thread.wait(timeout_ms)
    except RuntimeError:  # the C++ thread object was already deleted: it had finished
        return True
