"""Fixtures for GUI tests: an isolated QSettings file and a window showing a small project."""

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from tests.gui.helpers import make_project
from unet_studio.gui.gui_gc import install_gui_collector
from unet_studio.gui.main_window import MainWindow


@pytest.fixture(autouse=True)
def collect_garbage_on_the_gui_thread(qapp):
    """As in the app: no automatic collection during a GUI test (a worker thread could free Qt objects);
    a GUI-thread timer collects, and what is left is collected here, on the GUI thread, afterwards."""
    collector = install_gui_collector(qapp)
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def message_boxes_never_block(monkeypatch):
    """A modal message box would wait for a click forever (offscreen, nobody clicks; pytest-timeout cannot
    interrupt a Qt modal loop). Unless a test answers them itself, questions get Yes (so a window closed in
    teardown while a job runs stops and joins it) and notices are dismissed; each is recorded."""
    shown: list[str] = []

    def answer(button):
        def show(parent, title, text, *args, **kwargs):
            shown.append(text)
            return button
        return show

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    for name in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, answer(QMessageBox.StandardButton.Ok))
    return shown


@pytest.fixture
def settings(tmp_path):
    """QSettings on a file in tmp_path, so tests never touch the user's settings."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "project")


@pytest.fixture
def window(qtbot, tmp_path, settings, project):
    """The main window on `project`, first image shown at a fixed 4x zoom."""
    win = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    assert win.open_path(project.folder), win.last_error
    qtbot.waitUntil(lambda: win.document.image_id is not None)
    canvas = win.canvas
    canvas.actual_size()
    canvas.zoom_by(4.0)
    canvas.centerOn(32, 32)
    canvas.setFocus()
    yield win
    win.close()


@pytest.fixture
def docks(window):
    """The window's training docks; every job they started must be stopped and joined at the end."""
    yield window.training_docks
    assert window.training_docks.shutdown()
