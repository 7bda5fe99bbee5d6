"""Window-level behaviour: start-up, recent projects, demo, shortcuts, status bar, view and classes."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QListWidget, QMenu, QSlider, QTextBrowser

from tests.gui.helpers import drag, hover, view_point
from unet_studio.core.project import Project
from unet_studio.gui import create_main_window
from unet_studio.gui.main_window import MainWindow
from unet_studio.gui.shortcuts import SHORTCUTS, shortcuts_markdown

pytestmark = pytest.mark.gui
DOCS = Path(__file__).resolve().parents[2] / "docs" / "shortcuts.md"


def test_create_main_window_without_path_shows_welcome(qtbot):
    window = create_main_window()
    qtbot.addWidget(window)
    assert window.centre.currentWidget() is window.welcome
    assert window.windowTitle() == "UNet Studio"


def test_folder_of_images_becomes_a_project_and_is_remembered(qtbot, tmp_path, settings):
    from tests.conftest import make_blobs
    import cv2

    folder = tmp_path / "plain"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"a{i}.png"), make_blobs((48, 48), seed=i)[0])
    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    assert window.open_path(folder)
    assert (folder / "project.json").is_file() and len(Project.open(folder).images) == 2
    assert window.centre.currentWidget() is window.canvas and window.document.image_id == "a0"
    assert window.recent.paths()[0] == str(folder.resolve())
    again = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(again)
    assert again.findChild(QListWidget, "recentProjects").count() == 1
    assert not again.open_path(tmp_path / "nowhere")
    assert "nowhere" in again.last_error and "\n" not in again.last_error


def test_demo_project_is_a_writable_copy(qtbot, tmp_path, settings):
    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    assert window.open_demo(), window.last_error
    project = Project.open(tmp_path / "demo")
    assert len(project.images) == 6
    assert [r.status for r in project.images].count("labelled") == 4
    assert window.document.labels.max() == 2


def test_shortcuts_table_drives_actions_and_docs(window):
    assert DOCS.read_text(encoding="utf-8").endswith(shortcuts_markdown())
    keyed = [row for row in SHORTCUTS if row.action and row.action != "classAction"]
    for row in keyed:
        found = window.findChildren(QAction, row.action)
        assert len(found) == 1, f"{row.action}: {len(found)} actions"
        assert [s.toString() for s in found[0].shortcuts()] == list(row.keys), row.action
    window.actions["shortcutsAction"].trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "shortcutsDialog")
    assert "Polygon / lasso" in dialog.findChild(QTextBrowser).toPlainText()
    assert "Review objects" in dialog.findChild(QTextBrowser).toPlainText()


def test_help_has_a_guide_and_about_with_the_version(window):
    from unet_studio import __version__

    help_menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Help")
    titles = [a.text() for a in help_menu.actions()]
    assert titles == ["Getting started", "Shortcuts", "About UNet Studio"]
    for action, name, expected in ((help_menu.actions()[0], "guideDialog", "Train"),
                                   (help_menu.actions()[2], "aboutDialog", f"UNet Studio {__version__}")):
        action.trigger()
        dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == name)
        assert dialog.isVisible() and expected in dialog.findChild(QTextBrowser).toPlainText()
        dialog.close()


def test_status_bar_shows_position_value_label_and_zoom(window):
    drag(window.canvas, [(12, 7)])
    hover(window.canvas, 12, 7)
    pixel = int(window.document.image.pixels[12, 7, 0])
    assert window.status.position.text() == "x 7  y 12"
    assert window.status.value.text() == f"{pixel} (uint8)"
    assert window.status.label.text() == "label 2: object"
    assert window.status.zoom.text() == "400 %"


def test_wheel_zooms_at_the_cursor(window):
    canvas = window.canvas
    anchor = view_point(canvas, 20, 20)
    before = canvas.mapToScene(anchor)
    event = QWheelEvent(QPointF(anchor), QPointF(canvas.viewport().mapToGlobal(anchor)), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom > 4.5
    after = canvas.mapToScene(anchor)
    assert abs(after.x() - before.x()) < 0.5 and abs(after.y() - before.y()) < 0.5
    window.actions["actualSizeAction"].trigger()
    assert canvas.zoom == 1.0
    window.actions["fitAction"].trigger()
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.image_item.boundingRect())


def test_space_drag_and_middle_drag_pan_without_painting(window, qtbot):
    canvas = window.canvas
    for scroll in (canvas.horizontalScrollBar(), canvas.verticalScrollBar()):
        scroll.setValue((scroll.minimum() + scroll.maximum()) // 2)
    start = canvas.horizontalScrollBar().value()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas, [(30, 30), (30, 20)])
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.horizontalScrollBar().value() == start + 40
    drag(canvas, [(30, 30), (20, 30)], button=Qt.MouseButton.MiddleButton)
    assert window.document.labels.sum() == 0


def test_overlay_opacity_visibility_and_outline(window, qtbot):
    overlay = window.canvas.overlay
    window.findChild(QSlider, "opacitySlider").setValue(80)
    assert overlay.opacity() == pytest.approx(0.8)
    qtbot.keyClick(window.canvas, "v")
    assert not overlay.isVisible()
    qtbot.keyClick(window.canvas, "v")
    window.tools.set_brush_size(11)
    drag(window.canvas, [(30, 30)])
    assert overlay.buffer[30, 30] != 0
    qtbot.keyClick(window.canvas, "o")
    assert overlay.buffer[30, 30] == 0 and overlay.buffer[30, 25] != 0


def test_overlay_refresh_touches_only_the_rectangle(window):
    overlay, labels = window.canvas.overlay, window.document.labels
    labels[0:5, 0:5] = 3  # changed behind the overlay's back: must stay unseen
    labels[40:45, 40:45] = 2
    overlay.refresh((40, 40, 45, 45))
    assert (overlay.buffer[0:5, 0:5] == 0).all() and (overlay.buffer[40:45, 40:45] != 0).all()


def test_class_list_add_rename_recolour_delete(window, qtbot, project):
    doc = window.document
    class_list = window.class_list
    class_list.add_button.click()
    assert [c.value for c in doc.project.classes] == [1, 2, 3, 4] and window.tools.class_value == 4
    doc.rename_class(4, "nucleus")
    doc.recolour_class(4, (10, 200, 30))
    assert class_list.list.item(3).text() == "nucleus"
    drag(window.canvas, [(30, 30)])
    assert window.canvas.overlay.buffer[30, 30] == (255 << 24 | 10 << 16 | 200 << 8 | 30)
    doc.delete_class(3)
    assert [c.name for c in Project.open(project.folder).classes][-1] == "nucleus"
    assert doc.labels[30, 30] == 3  # shifted down with its class
    class_list.select_row(0)
    assert not class_list.delete_button.isEnabled()


def test_16_bit_stack_contrast_channels_and_planes(qtbot, tmp_path, settings):
    folder = tmp_path / "stack"
    folder.mkdir()
    stack = (np.arange(3 * 2 * 40 * 50).reshape(3, 2, 40, 50) * 7 % 60000).astype(np.uint16)
    tifffile.imwrite(folder / "s.tif", stack, metadata={"axes": "ZCYX"})
    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    assert window.open_path(folder), window.last_error
    contrast = window.contrast
    assert contrast.channel.count() == 3 and contrast.plane.maximum() == 2
    assert window.canvas.image_item.pixels.shape == (40, 50, 3)  # two channels as a colour composite
    contrast.channel.setCurrentIndex(2)
    assert window.canvas.image_item.pixels.shape == (40, 50)
    contrast.plane.setValue(2)
    assert window.document.image.plane == 2 and window.document.labels.shape == (40, 50)
    contrast.mode.setCurrentIndex(contrast.mode.findData("manual"))
    contrast.low.setValue(0)
    contrast.high.setValue(65535)
    shown = window.canvas.image_item.pixels
    assert shown.max() <= 255 * 60000 // 65535 + 1


RUN_APP_SCRIPT = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from unet_studio.gui import run_app

app = QApplication([])  # run_app uses the running application, as when a launcher made it
shown = []

def quit_once_shown():  # polled: the splash's start-up processEvents must not see an early quit()
    visible = [w.objectName() for w in QApplication.topLevelWidgets() if w.isVisible()]
    if "mainWindow" in visible:
        shown.extend(visible)
        QApplication.instance().quit()
    else:
        QTimer.singleShot(20, quit_once_shown)

QTimer.singleShot(50, quit_once_shown)
code = run_app()
print("shown:", ",".join(shown), "code:", code)
"""


def test_run_app_shows_the_window_and_returns_the_exit_code(tmp_path):
    """In a process of its own: once an application has quit, Qt returns from every later event loop at once
    (pytest-qt #37), so quitting here would leave the tests after it waiting on signals that never come."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", RUN_APP_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("shown:"))
    shown, code = line.split(" code: ")
    assert code == "0" and "mainWindow" in shown
    assert "startupSplash" not in shown  # the splash closed once the window showed


def test_the_splash_says_what_start_up_is_waiting_for(qtbot):
    from unet_studio.gui import show_splash

    splash = show_splash(QApplication.instance())
    qtbot.addWidget(splash)
    assert splash.isVisible() and "Loading torch" in splash.message()
    splash.close()


def test_a_new_class_is_named_after_the_key_that_picks_it(window, qtbot):
    """Issue 19 item 13: "class 2" used to be value 3 on key 3."""
    qtbot.mouseClick(window.class_list.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)  # accept the proposed name
    hover(window.canvas, 30, 30)
    qtbot.keyClick(QApplication.focusWidget(), "4")
    assert window.tools.class_value == 4
    assert window.class_list.list.currentItem().text() == "class 4"
    assert window.class_list.list.currentItem().toolTip() == "Key 4"


def test_window_docks_brush_and_last_image_are_remembered(qtbot, tmp_path, settings, project):
    """Issue 19 item 13: size, docks, brush size and last image per project survive a restart."""
    first = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(first)
    first.show()
    first.resize(1250, 700)
    assert first.open_path(project.folder)
    first.browser.step(2)
    assert first.document.image_id == "img_02"
    first.tools.set_brush_size(27)
    first.findChild(QDockWidget, "displayDock").close()
    size = (first.width(), first.height())
    first.close()
    again = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(again)
    again.show()
    assert again.height() == size[1] == 700  # the offscreen screen is 800 px wide: Qt keeps windows on it
    assert not again.findChild(QDockWidget, "displayDock").isVisible()
    assert again.tools.brush_size == 27 and again.tool_panel.brush_size.value() == 27
    assert again.open_path(project.folder)
    assert again.document.image_id == "img_02"
    assert again.browser.visible_ids()[again.browser.view.currentIndex().row()] == "img_02"
    again.close()


def demo_window_at_1400_by_900(qtbot, tmp_path, settings) -> MainWindow:
    """The window at its default size, showing the demo project."""
    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert window.open_demo(), window.last_error
    return window


def test_the_quality_warning_does_not_move_the_docks(qtbot, tmp_path, settings):
    """Issue 19 item 13: the long warning banner used to widen the left dock column by ~100 px."""
    from unet_studio.inference.scoring import ModelScores

    window = demo_window_at_1400_by_900(qtbot, tmp_path, settings)
    qc = window.training_docks.qc
    window.training_docks.docks["quality"].raise_()
    qtbot.wait(50)

    def layout():
        return {d.objectName(): d.geometry().getRect() for d in window.findChildren(QDockWidget) if d.isVisible()}

    before = layout()
    qc._note = "1 validation image(s)"  # what compare() notes before the worker scores
    qc._on_worker_scored(ModelScores("m2", "new model", {0: (0.9, 0.8), 1: (0.0, 0.0)}, 0.0, collapsed_to=0,
                                     collapsed_name="background"),
                         ModelScores("m1", "old model", {0: (0.9, 0.8), 1: (0.7, 0.6)}, 0.7))
    qc._on_worker_finished()
    qtbot.wait(50)
    assert qc.banner.isVisible() and "worse than old model" in qc.banner.text()
    assert layout() == before


def test_the_loss_chart_shows_at_1400_by_900(qtbot, tmp_path, settings):
    """Issue 19 item 13: only ~40 px of the loss chart were visible at the default window size."""
    from PySide6.QtWidgets import QScrollArea

    window = demo_window_at_1400_by_900(qtbot, tmp_path, settings)
    qtbot.wait(50)
    panel = window.training_docks.training
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
    chart = panel.loss_plot.geometry().translated(panel.pos())
    assert chart.intersected(area.viewport().rect()).height() >= 130  # 145 px on the offscreen platform
    assert window.findChild(QDockWidget, "displayDock") in window.tabifiedDockWidgets(
        window.findChild(QDockWidget, "toolsDock"))
