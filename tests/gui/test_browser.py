"""The dataset browser: thumbnails off the GUI thread, unreadable files, filters, splits, navigation."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView

from tests.gui.helpers import make_project
from unet_studio.core.project import Project
from unet_studio.gui.dataset_model import NAME, PROBLEM, SPLIT, STATUS
from unet_studio.gui.main_window import MainWindow
from unet_studio.gui.thumbnails import ThumbnailLoader, make_thumbnail

pytestmark = pytest.mark.gui


@pytest.fixture
def broken_window(qtbot, tmp_path, settings):
    project = make_project(tmp_path / "broken_project", n_images=2, broken=True)
    win = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(project.folder)
    yield win
    win.close()


def _cell(browser, row, column):
    return browser.proxy.index(row, column).data()


def test_unreadable_file_is_listed_with_its_reason(broken_window, qtbot):
    browser = broken_window.browser
    assert broken_window.findChild(QTableView, "datasetBrowser").model().rowCount() == 3
    row = browser.visible_ids().index("broken")
    qtbot.waitUntil(lambda: _cell(browser, row, STATUS) == "unreadable", timeout=5000)
    problem = _cell(browser, row, PROBLEM)
    assert not browser.view.isColumnHidden(PROBLEM)
    assert "broken.png" in problem and "not a PNG image" in problem and "\n" not in problem
    browser.view.setCurrentIndex(browser.proxy.index(row, NAME))
    assert "broken.png" in broken_window.last_error  # shown in the status bar, window still usable
    assert broken_window.document.image_id != "broken"
    browser.status_filter.setCurrentIndex(browser.status_filter.findData("unreadable"))
    assert browser.visible_ids() == ["broken"]


def test_thumbnails_are_made_in_the_background(broken_window, qtbot):
    browser = broken_window.browser
    for row in range(browser.proxy.rowCount()):
        browser.proxy.index(row, NAME).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: browser.loader.cached_count == 2, timeout=5000)
    icon = browser.proxy.index(browser.visible_ids().index("img_00"), NAME).data(Qt.ItemDataRole.DecorationRole)
    assert not icon.isNull() and max(icon.width(), icon.height()) == 64


def test_thumbnail_cache_is_bounded(qtbot, tmp_path):
    project = make_project(tmp_path / "many", n_images=6, size=32)
    loader = ThumbnailLoader(cache_size=4)
    for record in project.images:
        loader.request(record.id, project.image_path(record.id))
    qtbot.waitUntil(lambda: loader.pending_count == 0, timeout=5000)
    assert loader.cached_count == 4
    assert loader.get("img_00") is None and loader.get("img_05") is not None


def test_make_thumbnail_keeps_aspect_and_handles_16_bit(tmp_path):
    import tifffile

    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, (np.arange(200 * 400).reshape(200, 400) % 4000).astype(np.uint16))
    thumbnail = make_thumbnail(path, size=64)
    assert thumbnail.dtype == np.uint8 and thumbnail.shape == (32, 64)


def test_filters_by_name_and_status(window, qtbot):
    browser = window.browser
    browser.name_filter.setText("IMG_01")
    assert browser.visible_ids() == ["img_01"]
    browser.name_filter.clear()
    window.tools.set_brush_size(5)
    from tests.gui.helpers import drag

    drag(window.canvas, [(10, 10)])
    window.document.save_now()
    browser.status_filter.setCurrentIndex(browser.status_filter.findData("partial"))
    assert browser.visible_ids() == [window.document.image_id]
    browser.status_filter.setCurrentIndex(browser.status_filter.findData("unlabelled"))
    assert len(browser.visible_ids()) == 2


def test_split_is_editable_and_saved(window, project):
    browser = window.browser
    index = browser.proxy.index(1, SPLIT)
    assert browser.proxy.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert browser.proxy.setData(index, "val")
    assert _cell(browser, 1, SPLIT) == "val"
    assert Project.open(project.folder).image(browser.visible_ids()[1]).split == "val"
    assert not browser.proxy.setData(index, "holiday")


def test_page_keys_walk_the_filtered_list(window, qtbot):
    doc = window.document
    order = window.browser.visible_ids()
    assert doc.image_id == order[0]
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert doc.image_id == order[2]
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert doc.image_id == order[2]
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageUp)
    assert doc.image_id == order[1]


def test_clicking_an_unreadable_row_empties_the_canvas_and_says_why(broken_window, qtbot):
    """Issue 19 item 9: the previous image must not stay on the canvas, or the next stroke goes to it."""
    from tests.gui.helpers import drag

    window, browser = broken_window, broken_window.browser
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: window.document.image_id == "img_00")
    window.canvas.actual_size()
    window.canvas.zoom_by(4.0)
    window.canvas.centerOn(32, 32)
    drag(window.canvas, [(30, 30), (30, 34)])
    painted = window.document.labels.copy()
    rect = browser.view.visualRect(browser.proxy.index(browser.visible_ids().index("broken"), NAME))
    qtbot.mouseClick(browser.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.document.image_id is None and window.document.labels is None
    assert window.canvas.image_item.pixels.size == 0 and window.canvas.overlay.buffer.size == 0
    message = window.canvas.message
    assert message.isVisible() and "broken.png" in message.text() and "not a PNG image" in message.text()
    assert window.windowTitle().startswith("broken.png (cannot be read)")
    drag(window.canvas, [(10, 10), (10, 20)])  # the next stroke changes nothing anywhere
    assert np.array_equal(Project.open(window.document.project.folder).load_annotation("img_00"), painted)
    browser.step(-1 if browser.view.currentIndex().row() else 1)
    assert window.document.image_id == browser.visible_ids()[browser.view.currentIndex().row()] != "broken"
    assert not message.isVisible() and not window.windowTitle().startswith("broken")


def test_file_names_fit_the_image_column_at_the_default_layout(qtbot, tmp_path, settings):
    """Issue 19 item 13: the Image column showed "..." at the default window size."""
    from PySide6.QtGui import QFontMetrics

    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    window.show()
    assert window.open_demo(), window.last_error
    view, browser = window.browser.view, window.browser
    qtbot.waitUntil(lambda: view.columnWidth(NAME) > 0)
    assert view.isColumnHidden(PROBLEM)  # no unreadable file: no room spent on an empty column
    free = view.columnWidth(NAME) - view.iconSize().width() - 16  # icon, its gap and the cell margins
    metrics = QFontMetrics(view.font())
    for row in range(browser.proxy.rowCount()):
        name = browser.proxy.index(row, NAME).data()
        assert metrics.horizontalAdvance(name) <= free, (name, free)
    assert "256 x 256 px" in browser.proxy.index(0, NAME).data(Qt.ItemDataRole.ToolTipRole)
