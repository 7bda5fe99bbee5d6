"""BackgroundWriter: one writer thread behind a queue, so that autosaves never run on the GUI thread.

A subclass keeps its own queue, guarded by `self._cond`, and says three things: `_has_work()` and `_take()`
(the next job off the queue), both called with the lock held, and `_work(job)`, the write itself, called
without it, returning a result. Its submit methods queue a job and call `_wake()` with the lock held: the
thread starts when needed and ends after `idle_exit_s` with nothing to do. Results come back through
`results()` on the GUI thread, poked by `written`; `flush()` blocks until everything queued is written.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Signal


class BackgroundWriter(QObject):
    """The thread, the lock and the results of a writer; each subclass defines `_has_work`, `_take` and
    `_work` (see the module docstring) for its own queue."""

    written = Signal()  # results are waiting: call results() on the GUI thread

    def __init__(self, thread_name: str, idle_exit_s: float = 0.0, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._results: list[Any] = []
        self._busy = False
        self._thread: threading.Thread | None = None
        self._thread_name, self._idle_exit_s = thread_name, idle_exit_s

    def _wake(self) -> None:
        """After queueing a job, with the lock held: start the thread if there is none, and wake it."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
            self._thread.start()
        self._cond.notify_all()

    def flush(self, timeout_s: float | None = 60.0) -> bool:
        """Block until every queued job is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._has_work() and not self._busy, timeout_s)

    def results(self) -> list:
        """The results finished since the last call, oldest first."""
        with self._cond:
            done, self._results = self._results, []
        return done

    @property
    def running(self) -> bool:
        """Whether the writer thread exists now (it ends when idle)."""
        with self._cond:
            return self._thread is not None

    def _run(self) -> None:
        while True:
            with self._cond:
                idle_until = time.monotonic() + self._idle_exit_s
                while not self._has_work() and time.monotonic() < idle_until:
                    self._cond.wait(max(0.0, idle_until - time.monotonic()))
                if not self._has_work():
                    self._thread = None
                    return
                job = self._take()
                self._busy = True
            result = self._work(job)
            with self._cond:
                self._results.append(result)
                self._busy = False
                self._cond.notify_all()
            self.written.emit()
