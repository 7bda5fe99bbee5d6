"""Painting tools driven through the real canvas: strokes, undo/redo, fill, polygon, keys."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QSlider, QSpinBox, QToolButton

from tests.gui.helpers import click, disc_count, drag, hover

pytestmark = pytest.mark.gui


def test_object_names_exist(window):
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QGraphicsView, QTableView

    assert window.findChild(QTableView, "datasetBrowser") is not None
    assert window.findChild(QGraphicsView, "canvas") is window.canvas
    assert window.findChild(QListWidget, "classList") is not None
    assert window.findChild(QSpinBox, "brushSizeSpin") is not None
    assert window.findChild(QSlider, "opacitySlider") is not None
    for name in ("undoAction", "redoAction", "brushAction", "eraserAction", "fillAction"):
        assert window.findChild(QAction, name) is not None, name


def test_stroke_paints_the_line_under_the_mouse(window):
    labels = window.document.labels
    window.tools.set_brush_size(5)
    drag(window.canvas, [(20, 10), (20, 30), (20, 50)])
    assert (labels[20, 10:51] == 2).all()
    assert (labels[18:23, 12:48] == 2).all()  # radius 2.5 covers two rows either side
    assert labels[:18].sum() == 0 and labels[23:].sum() == 0 and labels[:, :7].sum() == 0
    assert window.document.history(window.document.image_id).count() == 1


def test_single_click_paints_one_disc(window):
    window.tools.set_brush_size(7)
    drag(window.canvas, [(30, 30)])
    assert int((window.document.labels == 2).sum()) == disc_count(3.5)


def test_undo_then_redo_restore_exact_arrays(window, qtbot):
    doc = window.document
    snapshots = [doc.labels.copy()]
    for i, value_key in enumerate(("2", "3", "1")):
        qtbot.keyClick(window.canvas, value_key)
        drag(window.canvas, [(10 + 12 * i, 5), (14 + 12 * i, 40), (10 + 12 * i, 58)])
        snapshots.append(doc.labels.copy())
    qtbot.keyClick(window.canvas, "e")
    drag(window.canvas, [(5, 20), (50, 20)])
    snapshots.append(doc.labels.copy())
    assert len({s.tobytes() for s in snapshots}) == len(snapshots)
    for expected in reversed(snapshots[:-1]):
        qtbot.keyClick(window.canvas, "z", Qt.KeyboardModifier.ControlModifier)
        np.testing.assert_array_equal(doc.labels, expected)
    for expected in snapshots[1:]:
        window.actions["redoAction"].trigger()
        np.testing.assert_array_equal(doc.labels, expected)
    qtbot.keyClick(window.canvas, "z", Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, "y", Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(doc.labels, snapshots[-1])


def test_eraser_sets_back_to_unlabelled(window, qtbot):
    window.tools.set_brush_size(9)
    drag(window.canvas, [(32, 32)])
    qtbot.keyClick(window.canvas, "e")
    window.tools.set_brush_size(3)
    drag(window.canvas, [(32, 32)])
    assert window.document.labels[32, 32] == 0 and window.document.labels[32, 36] == 2


def test_fill_fills_the_connected_region(window, qtbot):
    labels = window.document.labels
    window.tools.set_brush_size(2)
    drag(window.canvas, [(0, 30), (63, 30)])  # a wall splitting the image
    qtbot.keyClick(window.canvas, "3")
    qtbot.keyClick(window.canvas, "f")
    click(window.canvas, 10, 5)  # the half reaches the image edge: left alone while "enclosed only" is on
    assert (labels[:, :29] == 0).all() and "reaches the image edge" in window.status.currentMessage()
    enclosed = next(b for b in window.tool_panel.findChildren(QToolButton)
                    if b.defaultAction() is window.actions["fillEnclosedAction"])
    assert enclosed.isChecked()
    qtbot.mouseClick(enclosed, Qt.MouseButton.LeftButton)
    assert not window.tools.fill_enclosed
    click(window.canvas, 10, 5)
    assert (labels[:, :29] == 3).all() and (labels[:, 32:] == 0).all()
    window.actions["undoAction"].trigger()
    assert (labels[:, :29] == 0).all()


def test_fill_inside_a_painted_outline_stays_inside(window, qtbot):
    """Issue 19 item 13: a click in an outline fills its inside, a click outside never floods the image."""
    labels = window.document.labels
    window.tools.set_brush_size(2)
    drag(window.canvas, [(10, 10), (10, 40), (40, 40), (40, 10), (10, 10)])  # a closed square outline
    painted = int((labels > 0).sum())
    qtbot.keyClick(window.canvas, "f")
    click(window.canvas, 55, 55)  # outside the outline
    assert int((labels > 0).sum()) == painted
    click(window.canvas, 25, 25)  # inside
    assert (labels[14:37, 14:37] == 2).all() and labels[55, 55] == 0 and labels[2, 2] == 0


def test_polygon_closes_with_enter_and_double_click(window, qtbot):
    labels = window.document.labels
    qtbot.keyClick(window.canvas, "l")
    for row, col in ((10, 10), (10, 30), (30, 30), (30, 10)):
        click(window.canvas, row, col)
    assert labels.sum() == 0
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert (labels[11:30, 11:30] == 2).all() and labels[35:].sum() == 0
    for row, col in ((40, 40), (40, 60), (60, 50)):
        click(window.canvas, row, col, double=(row, col) == (60, 50))
    assert labels[45, 50] == 2 and labels[62, 40] == 0
    assert window.document.history(window.document.image_id).count() == 2


def test_lasso_drag_then_escape_cancels(window, qtbot):
    qtbot.keyClick(window.canvas, "l")
    hint = window.canvas.hint  # issue 19 item 13: how to close a lasso is on screen while it is the tool
    assert hint.isVisible() and "Enter or double-click" in hint.text() and "Esc" in hint.text()
    drag(window.canvas, [(5, 5), (5, 25), (25, 25), (25, 5)])
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.document.labels.sum() == 0
    qtbot.keyClick(window.canvas, "p")
    assert not hint.isVisible()


def test_picker_and_class_keys(window, qtbot):
    class_list = window.findChild(QListWidget, "classList")
    qtbot.keyClick(window.canvas, "3")
    assert window.tools.class_value == 3 and class_list.currentRow() == 2
    drag(window.canvas, [(20, 20)])
    qtbot.keyClick(window.canvas, "1")
    assert window.tools.class_value == 1 and class_list.currentRow() == 0
    qtbot.keyClick(window.canvas, "i")
    click(window.canvas, 20, 20)
    assert window.tools.class_value == 3
    qtbot.keyClick(window.canvas, "9")  # no ninth class: nothing changes
    assert window.tools.class_value == 3


def test_brush_size_keys_spin_box_and_ring(window, qtbot):
    spin = window.findChild(QSpinBox, "brushSizeSpin")
    spin.setValue(20)
    assert window.tools.brush_size == 20 and window.canvas.ring_diameter == 20
    qtbot.keyClick(window.canvas, "]")
    assert spin.value() == 22
    qtbot.keyClick(window.canvas, "[")
    qtbot.keyClick(window.canvas, "[")
    assert spin.value() == 18 and window.canvas.brush_ring.rect().width() == 18
    hover(window.canvas, 30, 30)
    assert window.canvas.brush_ring.isVisible()
    ring = window.canvas.brush_ring
    ring_on_screen = window.canvas.mapFromScene(ring.mapRectToScene(ring.rect())).boundingRect()
    assert abs(ring_on_screen.width() - 18 * 4) <= 2  # true size in image pixels, times the 4x zoom


def test_only_unlabelled_keeps_existing_labels(window, qtbot):
    window.tools.set_brush_size(11)
    drag(window.canvas, [(30, 30)])
    qtbot.keyClick(window.canvas, "u")
    qtbot.keyClick(window.canvas, "3")
    drag(window.canvas, [(30, 24), (30, 40)])
    labels = window.document.labels
    assert labels[30, 30] == 2 and labels[30, 40] == 3
