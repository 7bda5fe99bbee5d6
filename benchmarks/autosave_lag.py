"""Event-loop lag while painting continuously on a large image with autosave on; prints JSON (not a test).

Strokes of a radius-20 brush through the real canvas (a mouse move every 16 ms, 30 moves a stroke, then
a 0.8 s pause, so the 0.6 s autosave fires after every stroke) on an 8192 x 8192 image, while a 10 ms
QTimer stamps its ticks; lag = gap between ticks minus 10 ms. Two modes in one run, side by side:
* "synchronous": the old autosave, encoding and writing the whole annotation on the GUI thread
  (Project.save_annotation in the timer slot), kept here as the baseline;
* "writer thread": the app's autosave (copy of the changed rectangle; encode + atomic write in
  AnnotationWriter's thread).
Target: p99 < 50 ms with the writer thread.
Usage: QT_QPA_PLATFORM=offscreen python benchmarks/autosave_lag.py [--size 8192] [--strokes 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brush_speed import mouse, open_big_image  # noqa: E402


TICK_MS, MOVE_MS, MOVES, PAUSE_S = 10, 16, 30, 0.8


def synchronous_save(document) -> None:
    """The autosave before the writer thread: the whole image encoded and written on the GUI thread."""
    if document.image_id is None or not document.is_dirty:
        return
    document.project.save_annotation(document.image_id, document.labels)
    document._dirty = False
    document.history(document.image_id).setClean()


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def paint_session(app: QApplication, root: Path, size: int, strokes: int, mode: str) -> dict:
    folder = root / mode.replace(" ", "_")
    window = open_big_image(app, root, folder.name, size)
    document, canvas = window.document, window.canvas
    if mode == "synchronous":
        document._autosave.timeout.disconnect()
        document._autosave.timeout.connect(lambda: synchronous_save(document))
    canvas.actual_size()
    window.tools.set_brush_size(40)
    app.processEvents()
    stamps: list[float] = []
    ticker = QTimer()
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(lambda: stamps.append(time.perf_counter()))
    ticker.start()
    held, saves = Qt.MouseButton.LeftButton, [0]
    document.writer.written.connect(lambda: saves.__setitem__(0, saves[0] + 1))
    rng = np.random.default_rng(1)
    for _ in range(strokes):
        cy, cx = rng.uniform(600, size - 600, 2)
        canvas.centerOn(cx, cy)
        points = [QPointF(cx + 8 * i, cy + 3 * i) for i in range(MOVES)]
        mouse(canvas, QEvent.Type.MouseButtonPress, points[0], held)
        for point in points[1:]:
            due = time.perf_counter() + MOVE_MS / 1000
            mouse(canvas, QEvent.Type.MouseMove, point, held)
            while time.perf_counter() < due:
                app.processEvents()
        mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
        pause_end = time.perf_counter() + PAUSE_S
        while time.perf_counter() < pause_end:
            app.processEvents()
    ticker.stop()
    document.save_now()
    on_disk = tifffile.imread(folder / "big.tif").shape  # the original is untouched
    window.document.set_project(None)
    window.close()
    window.deleteLater()
    app.processEvents()
    lag = np.maximum(np.diff(np.asarray(stamps)) * 1000.0 - TICK_MS, 0.0)
    return {"mode": mode, "ticks": int(len(stamps)), "lag_ms_p50": round(float(np.percentile(lag, 50)), 2),
            "lag_ms_p99": round(float(np.percentile(lag, 99)), 2), "lag_ms_max": round(float(lag.max()), 2),
            "background_writes": saves[0], "original_shape": list(on_disk)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--strokes", type=int, default=12)
    parser.add_argument("--modes", nargs="+", default=["synchronous", "writer thread"])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [paint_session(app, root, args.size, args.strokes, mode) for mode in args.modes]
    before, after = runs[0], runs[-1]
    print(json.dumps({"benchmark": "autosave_lag", "cpu": cpu_name(), "cpu_count": os.cpu_count(),
                      "size": args.size, "strokes": args.strokes, "runs": runs,
                      "p99_ratio_sync_over_writer": round(before["lag_ms_p99"] / max(after["lag_ms_p99"], 1e-3), 2),
                      "target_p99_ms": 50, "met": after["lag_ms_p99"] < 50}, indent=1))


if __name__ == "__main__":
    main()
