"""Run as a script: cyclic garbage holding Qt objects is made on the GUI thread while a worker thread
allocates heavily (as a training loop does). Without the GUI-thread collector the cyclic collector runs on
the worker, which then destroys dialogs, menus and running timers there: Qt warns "Timers cannot be stopped
from another thread" and soon crashes (exit 139) when a timer of a deleted object fires, or deadlocks.

Usage: python tests/gui/gc_stress.py [--rounds N] [--no-guard]
Exit 0: every round done with no Qt object destroyed off the GUI thread; 2: Qt complained of that.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QPushButton, QVBoxLayout  # noqa: E402

WRONG_THREAD = ("another thread", "different thread")


def make_cyclic_qt_garbage(n: int) -> None:
    """Dialogs with a menu, connected lambdas and running timers, held in a reference cycle and dropped, so
    only the cyclic collector frees them (the lambdas capture nothing: Qt would keep those alive)."""
    for _ in range(n):
        dialog = QDialog()
        button = QPushButton("ok")
        QVBoxLayout(dialog).addWidget(button)
        button.clicked.connect(lambda: None)
        menu = QMenu()
        for k in range(4):
            menu.addAction(f"item {k}").triggered.connect(lambda _=False, k=k: k)
        timer = QTimer()
        timer.timeout.connect(lambda: None)
        timer.start(5)
        holder = {"dialog": dialog, "menu": menu, "timer": timer}
        holder["self"] = holder


def allocate(stop: threading.Event) -> None:
    """Many small container objects: the cyclic collector's thresholds are passed on this thread. Each batch
    ends by yielding the GIL, as a training step does in torch's kernels: a pure-Python loop that never lets
    go would starve the GUI thread on a 2-core machine (each of its Qt calls waits a switch interval)."""
    while not stop.is_set():
        junk = [[(i, str(i)) for i in range(50)] for _ in range(200)]
        del junk
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--no-guard", action="store_true", help="leave automatic collection on (the old bug)")
    args = parser.parse_args()
    complaints: list[str] = []
    qInstallMessageHandler(lambda _kind, _context, text: complaints.append(text)
                           if any(w in text for w in WRONG_THREAD) else None)
    app = QApplication(sys.argv[:1])
    if not args.no_guard:
        from unet_studio.gui.gui_gc import install_gui_collector

        install_gui_collector(app)
    stop = threading.Event()
    worker = threading.Thread(target=allocate, args=(stop,), daemon=True)
    worker.start()
    done = [0]

    def one_round() -> None:
        make_cyclic_qt_garbage(20)
        done[0] += 1
        if done[0] >= args.rounds:
            stop.set()
            app.quit()

    ticker = QTimer()
    ticker.setInterval(1)
    ticker.timeout.connect(one_round)
    ticker.start()
    app.exec()
    worker.join()
    print(f"rounds {done[0]}, Qt objects destroyed off the GUI thread: {len(complaints)}")
    return 2 if complaints else 0


if __name__ == "__main__":
    sys.exit(main())
