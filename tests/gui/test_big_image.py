"""Big images in the window: a 4096 x 4096 uint16 OME-Zarr with 3 levels, shown tile by tile at the zoom's
pyramid level (tiles read off the GUI thread, cache bounded), painted into chunked labels (undo, autosave of
the touched chunks only), and shown again with its labels after reopening."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QSettings

from tests.gui.big_image_helpers import write_ome_zarr
from tests.gui.helpers import drag
from unet_studio.core.project import Project
from unet_studio.gui.main_window import MainWindow
from unet_studio.gui.tiled_grid import TILE, TileCache, choose_level, tiles_in_rect

pytest.importorskip("zarr")

SIZE = 4096


@pytest.fixture(scope="module")
def zarr_image(tmp_path_factory):
    return write_ome_zarr(tmp_path_factory.mktemp("zarr") / "big.ome.zarr", size=SIZE, n_levels=3)


@pytest.fixture
def big_window(qtbot, tmp_path, zarr_image):
    Project.create(tmp_path / "project", [zarr_image])
    return open_window(qtbot, tmp_path)


def open_window(qtbot, tmp_path) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    assert win.open_path(tmp_path / "project"), win.last_error
    qtbot.waitUntil(lambda: win.document.big is not None)
    return win


def wait_for_tiles(qtbot, win) -> None:
    """Until every tile the view needs at its level is in the cache."""
    canvas = win.canvas

    def done():
        canvas.viewport().repaint()
        level = canvas.tiled.level_shown
        rect = canvas.mapToScene(canvas.viewport().rect()).boundingRect().intersected(canvas.tiled.boundingRect())
        keys = tiles_in_rect(canvas.tiled.source.levels, level, (rect.x(), rect.y(), rect.width(), rect.height()))
        return level is not None and all(key in canvas.tiled.cache for key in keys)

    qtbot.waitUntil(done, timeout=20000)


def zoom_to(canvas, zoom: float, row: float, col: float) -> None:
    canvas.actual_size()
    canvas.zoom_by(zoom)
    canvas.centerOn(QPointF(col, row))


def test_level_is_the_largest_scale_not_above_one_over_zoom():
    scales = (1.0, 2.0, 4.0)
    assert [choose_level(scales, z) for z in (8.0, 1.0, 0.99, 0.5, 0.3, 0.25, 0.01)] == [0, 0, 0, 1, 1, 2, 2]


def test_cache_drops_least_recently_used_past_its_bytes():
    cache = TileCache(max_bytes=300)
    for key in "abc":
        cache.put(key, key, 100)
    cache.get("a")
    cache.put("d", "d", 100)
    assert sorted(cache.keys()) == ["a", "c", "d"] and cache.nbytes == 300


def test_big_image_opens_lazily_and_shows_the_zoom_level(qtbot, big_window):
    win = big_window
    doc, canvas = win.document, win.canvas
    assert doc.image is None and doc.labels is None  # no whole-image array
    assert canvas.tiled.boundingRect().width() == SIZE and canvas.zoom < 0.25  # fitted
    wait_for_tiles(qtbot, win)
    assert canvas.tiled.level_shown == 2  # zoomed out: the coarsest level, never level 0
    assert {key.level for key in canvas.tiled.cache.keys()} == {2}
    zoom_to(canvas, 1.0, 2000, 2000)
    wait_for_tiles(qtbot, win)
    assert canvas.tiled.level_shown == 0
    zoom_to(canvas, 0.5, 2000, 2000)
    wait_for_tiles(qtbot, win)
    assert canvas.tiled.level_shown == 1


def test_tiles_load_off_the_gui_thread_and_hold_the_right_pixels(qtbot, big_window):
    win = big_window
    canvas = win.canvas
    zoom_to(canvas, 1.0, 1000, 1000)
    wait_for_tiles(qtbot, win)
    threads = canvas.tiled.loader.loader_threads
    assert threads and threading.get_ident() not in threads
    key = next(k for k in canvas.tiled.cache.keys() if k.level == 0)
    pixels, _ = canvas.tiled.cache.get(key)
    assert pixels.shape == (TILE, TILE) and pixels.dtype == np.uint8 and pixels.std() > 0


def test_tile_cache_stays_within_its_bytes_while_panning(qtbot, big_window):
    win = big_window
    canvas = win.canvas
    canvas.tiled.cache.max_bytes = 6 * TILE * TILE  # six grey tiles
    for row, col in ((500, 500), (500, 3500), (3500, 3500), (3500, 500)):
        zoom_to(canvas, 1.0, row, col)
        wait_for_tiles(qtbot, win)
        assert canvas.tiled.cache.nbytes <= canvas.tiled.cache.max_bytes
    assert len(canvas.tiled.cache) <= 6


def test_paint_undo_and_autosave_touch_only_the_painted_chunks(qtbot, big_window, tmp_path):
    win = big_window
    doc, canvas = win.document, win.canvas
    store = doc.big.store
    zoom_to(canvas, 1.0, 1000, 1020)
    win.tools.set_brush_size(10)
    drag(canvas, [(1000, 1000), (1000, 1010), (1000, 1040)])  # crosses the chunk border at column 1024
    buffer = doc.big.buffer
    assert buffer.dirty == {(0, 0), (0, 1)}
    assert buffer.value_at(1000, 1030) == win.tools.class_value
    assert doc.save_now()
    assert store.chunks_touched() == [(0, 0), (0, 1)]
    assert store.chunks_stored() == [(0, 0), (0, 1)]
    assert store.read(1000, 1001, 1030, 1031)[0, 0] == win.tools.class_value
    assert doc.record(doc.image_id).status == "partial"
    drag(canvas, [(3000, 3000), (3000, 3010)])  # a second stroke in chunk (2, 2)
    assert buffer.dirty == {(2, 2)}
    doc.undo_group.undo()
    doc.undo_group.undo()
    assert buffer.value_at(1000, 1030) == 0 and buffer.value_at(3000, 3005) == 0
    assert doc.save_now()
    assert store.chunks_stored() == []  # chunks back to all-unlabelled are removed
    assert doc.record(doc.image_id).status == "unlabelled"


def test_reopened_big_image_shows_its_painted_labels(qtbot, big_window, tmp_path):
    win = big_window
    canvas = win.canvas
    zoom_to(canvas, 1.0, 2100, 2100)
    drag(canvas, [(2100, 2100), (2100, 2140)])
    value = win.tools.class_value
    win.close()  # closing saves
    again = open_window(qtbot, tmp_path)
    buffer = again.document.big.buffer
    assert buffer.value_at(2100, 2120) == value and buffer.value_at(10, 10) == 0
    zoom_to(again.canvas, 1.0, 2100, 2100)
    labels = again.canvas.tiled_labels

    def drawn():
        again.canvas.viewport().repaint()
        return any(labels.cache.get(key).argb.any() for key in labels.cache.keys())

    qtbot.waitUntil(drawn)  # the overlay drew the painted chunk
    assert buffer.chunks_read == 1  # only the one labelled chunk was read from disk


def test_brush_moves_copy_only_the_brush_window(qtbot, big_window, monkeypatch):
    win = big_window
    doc, canvas = win.document, win.canvas
    zoom_to(canvas, 1.0, 1500, 1500)
    reads = []
    original = doc.big.buffer.read
    monkeypatch.setattr(doc.big.buffer, "read", lambda *a, **k: reads.append(original(*a, **k)) or reads[-1])
    drag(canvas, [(1500, 1500), (1500, 1506), (1500, 1512)])
    painted = [r for r in reads if r.size <= 64 * 64]
    assert painted and len(painted) >= 3 and max(r.size for r in painted) <= 40 * 40


def test_contrast_change_reloads_tiles_with_the_new_range(qtbot, big_window):
    from unet_studio.gui.display import DisplaySettings

    win = big_window
    canvas = win.canvas
    wait_for_tiles(qtbot, win)
    before = canvas.tiled.loader.generation
    canvas.tiled.set_settings(DisplaySettings(mode="manual", manual_range=(0.0, 1.0)))
    assert canvas.tiled.loader.generation == before + 1 and len(canvas.tiled.cache) == 0
    wait_for_tiles(qtbot, win)
    pixels, _ = canvas.tiled.cache.get(canvas.tiled.cache.keys()[0])
    assert (pixels == 255).mean() > 0.9  # everything above 1 is white under the manual range 0..1


def test_status_bar_gives_position_and_label_on_a_big_image(qtbot, big_window):
    from unet_studio.gui.status_info import describe_cursor

    win = big_window
    zoom_to(win.canvas, 1.0, 700, 700)
    drag(win.canvas, [(700, 700), (700, 720)])
    position, values, label = describe_cursor(win.document, 700.5, 710.5)
    assert position == "x 710  y 700" and values == "(uint16)" and label.startswith(f"label {win.tools.class_value}:")
    assert describe_cursor(win.document, -1, 5) is None


def test_fill_and_object_brush_say_they_do_not_work_on_big_images(qtbot, big_window):
    from tests.gui.helpers import click

    win = big_window
    zoom_to(win.canvas, 1.0, 900, 900)
    notices = []
    win.tools.notice_raised.connect(notices.append)
    for tool in ("fill", "object"):
        win.tools.set_tool(tool)
        click(win.canvas, 900, 900)
    assert len(notices) == 2 and all("big images" in text for text in notices)
    assert not win.document.big.buffer.has_labels() and not win.document.is_dirty


def test_coarser_tiles_stand_in_while_the_right_ones_load(qtbot, big_window, monkeypatch):
    win = big_window
    canvas = win.canvas
    wait_for_tiles(qtbot, win)  # the fitted view: level 2 in the cache
    source, gate = canvas.tiled.source, threading.Event()
    read = source.read

    def held_back(level, *region):
        if level == 0:
            gate.wait(20)
        return read(level, *region)

    monkeypatch.setattr(source, "read", held_back)
    try:
        zoom_to(canvas, 1.0, 2000, 2000)
        shown = canvas.viewport().grab().toImage()
        assert canvas.tiled.level_shown == 0 and not any(k.level == 0 for k in canvas.tiled.cache.keys())
        samples = [shown.pixelColor(x, y).getRgb()[:3] for x in range(5, shown.width(), 50)
                   for y in range(5, shown.height(), 50)]
        assert sum(rgb != (30, 30, 30) for rgb in samples) > 0.95 * len(samples)  # no empty background
    finally:
        gate.set()
    wait_for_tiles(qtbot, win)


def test_without_a_pyramid_level_for_the_zoom_no_tile_is_read(qtbot, tmp_path, monkeypatch):
    from unet_studio.gui import tiled_image

    monkeypatch.setattr(tiled_image, "MAX_TILES_PER_VIEW", 12)  # as a 50,000 px TIFF without levels, fitted
    Project.create(tmp_path / "project", [write_ome_zarr(tmp_path / "flat.ome.zarr", size=SIZE, n_levels=1)])
    win = open_window(qtbot, tmp_path)
    canvas = win.canvas
    canvas.viewport().repaint()
    qtbot.wait(200)
    assert len(canvas.tiled.cache) == 0 and not canvas.tiled.loader.loader_threads
    zoom_to(canvas, 1.0, 2000, 2000)  # few enough tiles on screen now
    wait_for_tiles(qtbot, win)
    assert len(canvas.tiled.cache) <= 12
