"""Autosave to disk, the '*' in the title, recovery after a crash, and per-image history."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import drag
from unet_studio.core.annotations import read_annotation
from unet_studio.core.project import Project
from unet_studio.gui.main_window import MainWindow

pytestmark = pytest.mark.gui


def _on_disk(project_folder, image_id):
    path = Project.open(project_folder).annotation_path(image_id)
    return None if path is None else read_annotation(path)


def test_stroke_is_autosaved_after_the_debounce(window, qtbot, project):
    doc = window.document
    drag(window.canvas, [(10, 10), (10, 40)])
    assert _on_disk(project.folder, doc.image_id) is None  # not yet: debounced
    qtbot.waitUntil(lambda: _on_disk(project.folder, doc.image_id) is not None, timeout=3000)
    np.testing.assert_array_equal(_on_disk(project.folder, doc.image_id), doc.labels)
    # The writer thread reports the write; the GUI thread then records the status in the manifest.
    qtbot.waitUntil(lambda: Project.open(project.folder).image(doc.image_id).status == "partial", timeout=3000)


def test_title_star_follows_unsaved_changes(window, qtbot):
    doc = window.document
    assert "*" not in window.windowTitle()
    drag(window.canvas, [(30, 30)])
    assert "*" in window.windowTitle()
    qtbot.waitUntil(lambda: "*" not in window.windowTitle(), timeout=3000)
    qtbot.keyClick(window.canvas, "z", Qt.KeyboardModifier.ControlModifier)
    assert "*" in window.windowTitle() and doc.labels.sum() == 0
    window.actions["saveAction"].trigger()
    assert "*" not in window.windowTitle() and not doc.is_dirty


def test_recovery_after_a_crash_loses_at_most_the_last_stroke(window, qtbot, project, settings, tmp_path):
    doc = window.document
    image_id = doc.image_id
    drag(window.canvas, [(10, 10), (10, 50)])
    qtbot.waitUntil(lambda: not doc.is_dirty, timeout=3000)
    saved = doc.labels.copy()
    drag(window.canvas, [(40, 10), (40, 50)])  # the "last stroke", not yet saved when the app dies
    reopened = MainWindow(settings=settings, demo_folder=tmp_path / "demo")  # as after kill -9: no flush
    qtbot.addWidget(reopened)
    assert reopened.open_path(project.folder)
    qtbot.waitUntil(lambda: reopened.document.image_id == image_id)
    np.testing.assert_array_equal(reopened.document.labels, saved)
    reopened.document.set_project(None)


def test_close_flushes_the_labels(window, project):
    doc = window.document
    image_id = doc.image_id
    drag(window.canvas, [(20, 20), (20, 40)])
    painted = doc.labels.copy()
    window.close()
    np.testing.assert_array_equal(_on_disk(project.folder, image_id), painted)


def test_switching_images_saves_and_keeps_each_history(window, qtbot, project):
    doc = window.document
    first = doc.image_id
    drag(window.canvas, [(10, 10), (10, 50)])
    first_painted = doc.labels.copy()
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    second = doc.image_id
    assert second != first
    np.testing.assert_array_equal(_on_disk(project.folder, first), first_painted)  # flushed on switch
    qtbot.keyClick(window.canvas, "3")
    drag(window.canvas, [(50, 10), (50, 50)])
    drag(window.canvas, [(30, 10), (30, 50)])
    assert doc.history(second).count() == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageUp)
    assert doc.image_id == first
    np.testing.assert_array_equal(doc.labels, first_painted)
    window.actions["undoAction"].trigger()
    assert doc.labels.sum() == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert doc.labels[50, 30] == 3 and doc.labels[30, 30] == 3
    window.actions["undoAction"].trigger()
    assert doc.labels[50, 30] == 3 and doc.labels[30, 30] == 0
    window.actions["redoAction"].trigger()
    assert doc.labels[30, 30] == 3
    assert doc.history(first).count() == 1 and doc.history(first).index() == 0


def test_undo_patches_hold_changed_pixels_only(window):
    window.tools.set_brush_size(3)
    drag(window.canvas, [(5, 5), (5, 20)])
    stack = window.document.history(window.document.image_id)
    patch = stack.command(0).patch
    assert patch.n_pixels == int((window.document.labels > 0).sum())
    assert patch.nbytes < 2000
    assert stack.undoLimit() >= 200
