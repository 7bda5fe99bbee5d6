"""Big images in the window (offscreen Qt): a 50,000 x 50,000 uint16 OME-Zarr; prints JSON (not a test).

* open: `open_path` on a project holding the image until every tile of the first (fitted) view is shown;
* browse: a 10 ms QTimer stamps ticks (lag = gap - 10 ms) while a script zooms in from the fitted view to
  100 %, pans across, zooms out again (one step every 50 ms, the event loop idle in between, as a user's);
  p50 / p99 / max lag, tiles loaded, cache bytes (target p99 < 50 ms);
* brush: one mouse move (6 px, fresh pixels, brush 40 px) at 100 %: median ms on the big image next to the
  same on a 2048 x 2048 uint16 TIFF, in the same run (target <= 5 ms, equal sizes);
* memory: peak RSS (ru_maxrss) of the whole run and RSS after each part (target < 2 GB).
The image is written once, chunk by chunk (1024 px chunks, levels halving down to <= 1024 px, each level made
from the same formula at its own pixels, so no level-0 read) and cached under --cache.
Usage: QT_QPA_PLATFORM=offscreen python benchmarks/big_viewer.py [--size 50000] [--seconds 20] [--moves 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import tifffile  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from autosave_lag import cpu_name  # noqa: E402
from brush_speed import fresh_path, mouse, new_window, rss_mb  # noqa: E402
from unet_studio.core.project import Project  # noqa: E402
from unet_studio.gui.tiled_grid import tiles_in_rect  # noqa: E402

TICK_MS, STEP_MS, CHUNK = 10, 50, 1024


def pattern(y0: int, y1: int, x0: int, x1: int, step: int) -> np.ndarray:
    """uint16 pixels of rows y0:y1, columns x0:x1 of the level that samples every `step`-th level-0 pixel:
    a 512 px checkerboard with ramps, so every view has contrast and chunks compress well."""
    yy = (np.arange(y0, y1, dtype=np.int64) * step)[:, None]
    xx = (np.arange(x0, x1, dtype=np.int64) * step)[None, :]
    return ((((yy >> 9) + (xx >> 9)) & 1) * 16000 + (yy & 1023) * 20 + (xx & 511) * 40).astype(np.uint16)


def make_zarr(folder: Path, size: int) -> float:
    """Write the OME-Zarr (NGFF 0.4) chunk by chunk unless a finished one is cached; seconds spent."""
    done = folder / ".complete"
    if done.exists():
        return 0.0
    import zarr

    start = time.perf_counter()
    group = zarr.open_group(str(folder), mode="w", zarr_format=2)
    datasets, level, side = [], 0, size
    while True:
        step = 2**level
        array = group.create_array(str(level), shape=(side, side), dtype=np.uint16, chunks=(CHUNK, CHUNK))
        for y0 in range(0, side, CHUNK):
            for x0 in range(0, side, CHUNK):
                y1, x1 = min(side, y0 + CHUNK), min(side, x0 + CHUNK)
                array[y0:y1, x0:x1] = pattern(y0, y1, x0, x1, step)
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [float(step), float(step)]}]})
        if side <= CHUNK:
            break
        level, side = level + 1, -(-side // 2)
    axes = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space", "unit": "micrometer"}]
    group.attrs.update({"multiscales": [{"version": "0.4", "name": "pattern", "axes": axes, "datasets": datasets}]})
    done.write_text("ok\n")
    return time.perf_counter() - start


def run_events_until(deadline: float) -> None:
    """The event loop, idle until `deadline` (perf_counter), as between a user's inputs."""
    left_ms = int((deadline - time.perf_counter()) * 1000)
    if left_ms > 0:
        loop = QEventLoop()
        QTimer.singleShot(left_ms, loop.quit)
        loop.exec()


def view_complete(canvas) -> bool:
    """Whether every tile the view needs at its level is in the cache."""
    tiled = canvas.tiled
    if tiled.level_shown is None:
        return False
    rect = canvas.mapToScene(canvas.viewport().rect()).boundingRect().intersected(tiled.boundingRect())
    keys = tiles_in_rect(tiled.source.levels, tiled.level_shown, (rect.x(), rect.y(), rect.width(), rect.height()))
    return all(key in tiled.cache for key in keys)


def wait_view(canvas, timeout_s: float = 60.0) -> float:
    start = time.perf_counter()
    while not view_complete(canvas) and time.perf_counter() - start < timeout_s:
        run_events_until(time.perf_counter() + 0.005)
    return time.perf_counter() - start


def lag_ms(stamps: list[float]) -> dict:
    lag = np.maximum(np.diff(np.asarray(stamps)) * 1000.0 - TICK_MS, 0.0)
    return {"ticks": int(len(stamps)), "lag_ms_p50": round(float(np.percentile(lag, 50)), 2),
            "lag_ms_p99": round(float(np.percentile(lag, 99)), 2), "lag_ms_max": round(float(lag.max()), 2)}


def browse_script(canvas, size: int):
    """Steps: zoom in at the centre to about 100 %, pan right and down, zoom out to the fitted view."""
    centre = QPointF(canvas.viewport().rect().center())
    while canvas.zoom < 1.0:
        yield lambda: canvas.zoom_by(1.25, centre)
    for _ in range(30):
        yield lambda: canvas.horizontalScrollBar().setValue(canvas.horizontalScrollBar().value() + 300)
    for _ in range(30):
        yield lambda: canvas.verticalScrollBar().setValue(canvas.verticalScrollBar().value() + 300)
    while canvas.zoom > 1.2 * min(canvas.viewport().width(), canvas.viewport().height()) / size:
        yield lambda: canvas.zoom_by(0.8, centre)


def browse(app: QApplication, window, size: int, seconds: float) -> dict:
    canvas = window.canvas
    stamps: list[float] = []
    ticker = QTimer()
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(lambda: stamps.append(time.perf_counter()))
    ticker.start()
    steps, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for step in browse_script(canvas, size):
            due = time.perf_counter() + STEP_MS / 1000
            step()
            steps += 1
            run_events_until(due)
            if time.perf_counter() >= end:
                break
    ticker.stop()
    loaded = canvas.tiled.cache
    return {"steps": steps, "seconds": seconds, **lag_ms(stamps), "tiles_cached": len(loaded),
            "tile_cache_mb": round(loaded.nbytes / 2**20, 1), "rss_mb": round(rss_mb(), 1)}


def brush_ms(app: QApplication, window, size: int, moves: int) -> dict:
    """Median ms of one brush move at 100 % (as benchmarks/brush_speed.py measures it)."""
    canvas = window.canvas
    canvas.actual_size()
    canvas.centerOn(size / 2, size / 2)
    window.tools.set_brush_size(40)
    wait_view(canvas) if canvas.tiled.source is not None else app.processEvents()
    held, path, times = Qt.MouseButton.LeftButton, fresh_path(size, moves), []
    mouse(canvas, QEvent.Type.MouseButtonPress, path[0], held)
    for point in path[1:]:
        canvas.centerOn(point)
        app.processEvents()
        start = time.perf_counter()
        mouse(canvas, QEvent.Type.MouseMove, point, held)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    mouse(canvas, QEvent.Type.MouseButtonRelease, path[-1], Qt.MouseButton.NoButton)
    save_start = time.perf_counter()
    assert window.document.save_now()
    return {"size": size, "median_ms": round(statistics.median(times), 3),
            "p90_ms": round(float(np.percentile(times, 90)), 3), "moves": moves,
            "save_now_ms": round((time.perf_counter() - save_start) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--moves", type=int, default=100)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "unet_studio_big_viewer")
    args = parser.parse_args()
    load_before = os.getloadavg()
    zarr_path = args.cache / f"pattern_{args.size}.ome.zarr"
    args.cache.mkdir(parents=True, exist_ok=True)
    made_s = make_zarr(zarr_path, args.size)
    peak_after_making = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app = QApplication.instance() or QApplication([])
    report = {"cpu": cpu_name(), "cores": os.cpu_count(), "loadavg_before": [round(v, 2) for v in load_before],
              "image": f"{args.size} x {args.size} uint16 OME-Zarr, {CHUNK} px chunks", "made_s": round(made_s, 1),
              "peak_rss_mb_after_making": round(peak_after_making, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small_folder = root / "small"
        small_folder.mkdir()
        tifffile.imwrite(small_folder / "small.tif", pattern(0, 2048, 0, 2048, 1))
        Project.create(small_folder, [small_folder / "small.tif"])
        window = new_window(root, app)
        window.open_path(small_folder)
        small = brush_ms(app, window, 2048, args.moves)
        window.close()
        big_folder = root / "big"
        Project.create(big_folder, [zarr_path])
        window = new_window(root, app)
        rss_before = rss_mb()
        start = time.perf_counter()
        window.open_path(big_folder)
        opened = time.perf_counter() - start
        first_view = opened + wait_view(window.canvas)
        report["open"] = {"open_path_s": round(opened, 3), "first_view_s": round(first_view, 3),
                          "level_shown": window.canvas.tiled.level_shown, "rss_before_mb": round(rss_before, 1),
                          "rss_after_mb": round(rss_mb(), 1)}
        report["browse"] = browse(app, window, args.size, args.seconds)
        big = brush_ms(app, window, args.size, args.moves)
        report["brush_move"] = {"big": big, "small_2048": small,
                                "ratio_big_over_small": round(big["median_ms"] / max(small["median_ms"], 1e-6), 2)}
        report["chunks_written"] = len(window.document.big.store.chunks_touched())
        window.close()
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    report["targets_met"] = {"first_view_s<2": report["open"]["first_view_s"] < 2,
                             "lag_p99<50ms": report["browse"]["lag_ms_p99"] < 50,
                             "peak_rss<2GB": report["peak_rss_mb"] < 2048, "brush<=5ms": big["median_ms"] <= 5}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
