"""Annotation studio speed, offscreen; prints JSON (not a test).

* brush: one mouse move (6 px, over fresh pixels) of a radius-20 brush with the button held, through the
  real canvas at 100 % zoom (QMouseEvent -> tool -> core stroke -> overlay rectangle refresh -> repaint in
  processEvents), median ms per move on 1024, 4096 and 8192 px images (target <= 5 ms, flat across sizes);
  with, per size, the Train button's label check that follows a pause in painting (which classes are
  labelled; the shown image's labels are scanned in memory) next to a plain np.bincount of those labels;
* open: switching to a 2048 x 2048 16-bit TIFF until it is painted (target <= 150 ms);
* browse: RSS before/after stepping through 500 small images with PageDown (must stay bounded).
Usage: QT_QPA_PLATFORM=offscreen python benchmarks/brush_speed.py [--sizes 1024 4096 8192] [--browse 500]
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

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from unet_studio.core.project import Project  # noqa: E402
from unet_studio.gui.main_window import MainWindow  # noqa: E402


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def new_window(folder: Path, app: QApplication) -> MainWindow:
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, demo_folder=folder / "demo")
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    return window


def mouse(canvas, kind, point: QPointF, buttons) -> None:
    pos = canvas.mapFromScene(point)
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def fresh_path(size: int, moves: int, step: float = 6.0) -> list[QPointF]:
    """Mouse positions 6 px apart along rows 50 px apart in the central 1024 px, so every move paints
    new pixels (a circle drawn twice would paint nothing the second time)."""
    left = size / 2 - 450
    points = []
    for i in range(moves + 1):
        row, along = divmod(i * step, 900)
        points.append(QPointF(left + along, left + 50 * row))
    return points


def open_big_image(app: QApplication, root: Path, name: str, size: int) -> MainWindow:
    """A window on a new project in root/name holding one random size x size 8-bit TIFF."""
    folder = root / name
    folder.mkdir()
    image = np.random.default_rng(0).integers(0, 255, (size, size), dtype=np.uint8)
    tifffile.imwrite(folder / "big.tif", image)
    Project.create(folder, [folder / "big.tif"])
    window = new_window(root, app)
    window.open_path(folder)
    return window


def brush_ms(app: QApplication, root: Path, size: int, moves: int) -> dict:
    window = open_big_image(app, root, f"brush_{size}", size)
    canvas = window.canvas
    canvas.actual_size()
    canvas.centerOn(size / 2, size / 2)
    window.tools.set_brush_size(40)
    app.processEvents()
    held = Qt.MouseButton.LeftButton
    path = fresh_path(size, moves)
    mouse(canvas, QEvent.Type.MouseButtonPress, path[0], held)
    times = []
    for point in path[1:]:
        canvas.centerOn(point)  # keep the brush on screen, as a user scrolling along would
        app.processEvents()
        start = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, point, held)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    mouse(canvas, QEvent.Type.MouseButtonRelease, path[-1], Qt.MouseButton.NoButton)
    labels = window.document.labels
    painted = int((labels > 0).sum())
    check = _median_ms(window.training_docks.training.update_buttons)
    baseline = _median_ms(lambda: np.flatnonzero(np.bincount(labels.ravel())), repeats=3)
    window.document.set_project(None)
    window.close()
    window.deleteLater()
    app.processEvents()
    return {"size": size, "median_ms": round(statistics.median(times), 3), "mean_ms": round(statistics.mean(times), 3),
            "p90_ms": round(float(np.percentile(times, 90)), 3), "moves": moves, "painted_px": painted,
            "train_button_check_ms": check, "plain_bincount_of_labels_ms": baseline}


def _median_ms(call, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def open_ms(app: QApplication, root: Path, repeats: int) -> dict:
    folder = root / "open16"
    folder.mkdir()
    rng = np.random.default_rng(1)
    tifffile.imwrite(folder / "a.tif", rng.integers(0, 4000, (2048, 2048), dtype=np.uint16))
    tifffile.imwrite(folder / "b.tif", rng.integers(0, 4000, (2048, 2048), dtype=np.uint16))
    project = Project.create(folder, [folder / "a.tif", folder / "b.tif"])
    window = new_window(root, app)
    window.open_path(folder)
    app.processEvents()
    times = []
    for i in range(repeats):
        image_id = project.images[(i + 1) % 2].id
        start = time.perf_counter()
        window.document.set_image(image_id)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    window.close()
    window.deleteLater()
    app.processEvents()
    return {"image": "2048x2048 uint16 TIFF", "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1), "repeats": repeats}


def browse_rss(app: QApplication, root: Path, n_images: int) -> dict:
    folder = root / "browse"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(2)
    paths = []
    for i in range(n_images):
        path = folder / "images" / f"im_{i:04d}.png"
        cv2.imwrite(str(path), rng.integers(0, 255, (128, 128), dtype=np.uint8))
        paths.append(path)
    Project.create(folder, paths)
    window = new_window(root, app)
    before = rss_mb()
    start = time.perf_counter()
    window.open_path(folder)
    app.processEvents()
    for _ in range(n_images - 1):
        window.browser.step(1)
        app.processEvents()
    window.browser.loader.wait(30000)
    app.processEvents()
    elapsed = time.perf_counter() - start
    result = {"images": n_images, "rss_before_mb": round(before, 1), "rss_after_mb": round(rss_mb(), 1),
              "ms_per_image": round(elapsed * 1000 / n_images, 2),
              "thumbnails_cached": window.browser.loader.cached_count, "last_image": window.document.image_id}
    window.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--open-repeats", type=int, default=7)
    parser.add_argument("--browse", type=int, default=500)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = {
            "brush_move": [brush_ms(app, root, size, args.moves) for size in args.sizes],
            "open_and_show": open_ms(app, root, args.open_repeats),
            "browse": browse_rss(app, root, args.browse),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
