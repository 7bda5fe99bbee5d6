"""The one worker pattern: a `JobWorker` runs a frozen job in its own QThread (STYLE.md section 3).

Wiring as superqt's `new_worker_qthread`: thread.started -> worker.run; worker.finished -> thread.quit
(direct, from the worker thread, so the GUI side can `wait_for` the thread at once in its finished slot)
and deleteLater, which runs on the GUI thread: the worker moves back there before `finished` (a QObject
destroyed in a worker thread can deadlock PySide against the GUI thread: JobWorker._go_home). superqt's
own WorkerBase runs in the global QThreadPool and stops through its own abort flag; ours keep the
threading.Event that the Trainer and the tiler check between batches and tiles, and a QThread that
quitting can stop and join (a QThread destroyed while running aborts the process).

`run()` lowers the thread's priority, gives torch the cores (`worker_threads`), calls `work()`, turns any
exception into one `failed(line)` and always emits `finished` last. A worker gets everything it needs in
its constructor, resolved on the GUI thread; it never reads the live project or touches widgets.
"""

from __future__ import annotations

import os
import threading

import torch
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from unet_studio.core.errors import StudioError

WORKER_NICENESS = 5  # worker threads yield to the GUI thread when both want the same core


def worker_threads(cpu_count: int | None = None) -> int:
    """Torch threads for a worker: every core up to two (the GUI thread mostly sleeps, and the worker's
    lower priority lets it in at once: leaving it a whole core halved training on 2 cores), else all but one."""
    cores = cpu_count or os.cpu_count() or 1
    return cores if cores <= 2 else cores - 1


def lower_thread_priority(niceness: int = WORKER_NICENESS) -> None:
    """Raise the calling thread's nice value; threads it starts later (torch's OpenMP team) inherit it.
    Linux schedules threads on their own; elsewhere this is a no-op."""
    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except OSError:
            return


def one_line_failure(error: BaseException, what: str) -> str:
    """A StudioError's own line, or what failed with the exception type and its message on one line."""
    if isinstance(error, StudioError):
        return str(error)
    if isinstance(error, torch.OutOfMemoryError):
        return f"{what}: out of memory; use a smaller model, batch, patch or tile size"
    text = " ".join(str(error).split()) or "no message"
    return f"{what} failed: {type(error).__name__}: {text}"


class JobWorker(QObject):
    """Base of every background job; subclasses implement `work()` and name the job in `what`."""

    failed = Signal(str)  # the job failed as a whole: one line
    finished = Signal()  # always the last signal
    what = "job"

    def __init__(self):
        super().__init__()
        self.stop_event = threading.Event()

    def stop(self) -> None:
        """Ask the job to end at its next check (thread-safe: a direct call, as run() keeps the thread busy)."""
        self.stop_event.set()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(worker_threads())
        lower_thread_priority()
        try:
            self.work()
        except Exception as error:  # every failure ends the job with one line, never a traceback
            self.failed.emit(one_line_failure(error, self.what))
        finally:
            self._go_home()
            self.finished.emit()

    def _go_home(self) -> None:
        """Hand the worker back to the GUI thread before `finished`, so its deleteLater runs there. Destroyed
        in its own thread, ~QObject held Qt's connection lock while PySide waited for the GIL, and the GUI
        thread, holding the GIL while it disconnected a signal of an object sharing that lock, waited on it
        for ever (seen in CI: ExportDialog's setPlainText against an ExportWorker being deleted)."""
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())


def start_worker(worker: JobWorker, parent: QObject | None = None) -> QThread:
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
    """Block until `thread` ends (quitting, tests); True when it ended or was never started."""
    if thread is None:
        return True
    try:
        return thread.wait(timeout_ms)
    except RuntimeError:  # the C++ thread object was already deleted: it had finished
        return True
