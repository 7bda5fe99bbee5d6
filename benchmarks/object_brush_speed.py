"""Object brush speed and memory next to the class brush, in one run, offscreen; prints JSON (not a test).

Per image size (1024, 4096, 8192 px): the median ms of one mouse move (6 px over fresh pixels, radius-20
brush, button held) through the real canvas, for the class brush (P, the baseline) and the object brush
(M: class labels + instance layer + object outlines), with their ratio; and, for the object stroke, the
undo step's bytes against the pixels it changed (memory by changed pixels, never by image size), the
instance layer's bytes, and the ms of a blocking save after the class stroke (labels only, the baseline) and
after the object stroke (labels and instance layer; autosave does the same work off the GUI thread).
Usage: QT_QPA_PLATFORM=offscreen python benchmarks/object_brush_speed.py [--sizes 1024 4096 8192] [--moves 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from brush_speed import fresh_path, mouse, open_big_image  # noqa: E402


def stroke_ms(app: QApplication, window, tool: str, moves: int, row_offset: float) -> list[float]:
    """Per-move ms of one stroke with `tool`, on rows shifted by `row_offset` (fresh pixels for each tool)."""
    canvas = window.canvas
    window.tools.set_tool(tool)
    window.tools.set_brush_size(40)
    held = Qt.MouseButton.LeftButton
    path = [p + type(p)(0, row_offset) for p in fresh_path(window.document.labels.shape[0], moves)]
    mouse(canvas, QEvent.Type.MouseButtonPress, path[0], held)
    times = []
    for point in path[1:]:
        canvas.centerOn(point)
        app.processEvents()
        start = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, point, held)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    mouse(canvas, QEvent.Type.MouseButtonRelease, path[-1], Qt.MouseButton.NoButton)
    app.processEvents()
    return times


def _save_ms(doc) -> float:
    """The blocking save (image switch, quit) after a stroke: both files written by the writer thread."""
    start = time.perf_counter()
    doc.save_now()
    return (time.perf_counter() - start) * 1000


def one_size(app: QApplication, root: Path, size: int, moves: int) -> dict:
    window = open_big_image(app, root, f"objects_{size}", size)
    window.canvas.actual_size()
    doc = window.document
    brush = stroke_ms(app, window, "brush", moves, 0)
    labels_save_ms = _save_ms(doc)
    objects = stroke_ms(app, window, "object", moves, 25)
    command = doc.history(doc.image_id).command(1)
    save_ms = _save_ms(doc)
    ids_file = doc.project.instances_path(doc.image_id)
    result = {
        "size": size,
        "class_brush_median_ms": round(statistics.median(brush), 3),
        "object_brush_median_ms": round(statistics.median(objects), 3),
        "object_over_class_brush": round(statistics.median(objects) / statistics.median(brush), 2),
        "object_brush_p90_ms": round(sorted(objects)[int(0.9 * len(objects))], 3),
        "object_stroke_changed_px": command.ids.n_pixels,
        "object_undo_bytes": command.ids.nbytes + command.patch.nbytes,
        "undo_bytes_per_changed_px": round((command.ids.nbytes + command.patch.nbytes) / command.ids.n_pixels, 1),
        "instance_layer_mb": round(doc.instances.ids.nbytes / 2**20, 1),
        "instance_layer_dtype": str(doc.instances.ids.dtype),
        "save_now_labels_only_ms": round(labels_save_ms, 1),
        "save_now_labels_and_objects_ms": round(save_ms, 1),
        "instance_file_kb": round(ids_file.stat().st_size / 1024, 1) if ids_file.exists() else None,
    }
    doc.set_project(None)
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        report = {"load_average_at_start": os.getloadavg(),
                  "sizes": [one_size(app, Path(tmp), size, args.moves) for size in args.sizes],
                  "load_average_at_end": os.getloadavg()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
