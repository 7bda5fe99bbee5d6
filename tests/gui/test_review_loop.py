"""The review loop in the real window (issue 19): accepting keeps painted labels, tools leave review mode,
whole-image predictions still show, pending and accepted objects look different, undo restores the status."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton

from tests.gui.helpers import click, drag
from unet_studio.core.project import Project
from unet_studio.gui.tools import Tool

pytestmark = pytest.mark.gui
LEFT = Qt.MouseButton.LeftButton


def two_objects(shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[4:16, 4:16] = 1
    mask[30:44, 30:44] = 1
    return mask


def paint_class_3(window, row: int, cols: tuple[int, int]) -> np.ndarray:
    """A brush stroke in class 3 ("object 2") along one row; returns a copy of the labels after it."""
    window.actions["class3Action"].trigger()
    drag(window.canvas, [(row, cols[0]), (row, cols[1])])
    assert (window.document.labels == 3).any()
    return window.document.labels.copy()


def test_accept_fills_only_unlabelled_pixels_and_replace_is_a_separate_step(window, docks, qtbot):
    doc = window.document
    painted = paint_class_3(window, 10, (2, 40))  # crosses the first predicted object
    mask = two_objects(doc.labels.shape)
    docks.state.set_result(doc.image_id, mask, None)
    qtbot.mouseClick(docks.prediction.accept_button, LEFT)
    mine = painted > 0
    assert np.array_equal(doc.labels[mine], painted[mine])  # every painted pixel kept
    assert np.array_equal(doc.labels[~mine], mask[~mine] + 1)  # the prediction everywhere else
    assert "kept" in docks.prediction.message.text()
    window.actions["undoAction"].trigger()
    assert np.array_equal(doc.labels, painted)
    qtbot.mouseClick(docks.prediction.replace_button, LEFT)  # the explicit choice: prediction alone
    assert np.array_equal(doc.labels, mask + 1)
    assert doc.history(doc.image_id).count() == 2  # the stroke, then one step for the replace
    window.actions["undoAction"].trigger()
    assert np.array_equal(doc.labels, painted)
    replace = window.findChild(QAction, "replacePredictionAction")
    assert replace in window.findChild(QMenu, "modelMenu").actions()
    replace.trigger()
    assert np.array_equal(Project.open(doc.project.folder).load_annotation(doc.image_id), mask + 1)


def test_accepting_one_object_keeps_its_painted_pixels(window, docks):
    doc = window.document
    painted = paint_class_3(window, 36, (20, 50))  # crosses the second predicted object
    docks.state.set_result(doc.image_id, two_objects(doc.labels.shape), None)
    docks.prediction.review_button.setChecked(True)
    click(window.canvas, 32, 32)
    obj = np.zeros_like(painted, bool)
    obj[30:44, 30:44] = True
    assert np.array_equal(doc.labels[obj & (painted > 0)], painted[obj & (painted > 0)])
    assert (doc.labels[obj & (painted == 0)] == 2).all()
    assert np.array_equal(doc.labels[~obj], painted[~obj])
    assert doc.history(doc.image_id).count() == 2


@pytest.mark.parametrize("key, tool", [(Qt.Key.Key_P, Tool.BRUSH), (Qt.Key.Key_E, Tool.ERASER),
                                       (Qt.Key.Key_F, Tool.FILL), (Qt.Key.Key_L, Tool.POLYGON),
                                       (Qt.Key.Key_I, Tool.PICKER)])
def test_a_tool_key_leaves_review_mode(window, docks, qtbot, key, tool):
    docks.state.set_result(window.document.image_id, two_objects(window.document.labels.shape), None)
    docks.prediction.review_button.setChecked(True)
    assert window.canvas.tool_handler is docks.review_tool
    assert not any(window.actions[f"{t.value}Action"].isChecked() for t in Tool)  # no tool looks selected
    qtbot.keyClick(window.canvas, key)
    assert not docks.prediction.review_button.isChecked()
    assert window.canvas.tool_handler is window.tools and window.tools.tool is tool
    assert window.actions[f"{tool.value}Action"].isChecked()


def test_the_brush_button_leaves_review_mode_and_strokes_paint(window, docks, qtbot):
    doc = window.document
    docks.state.set_result(doc.image_id, two_objects(doc.labels.shape), None)
    docks.prediction.review_button.setChecked(True)
    button = next(b for b in window.tool_panel.findChildren(QToolButton)
                  if b.defaultAction() is window.actions["brushAction"])
    qtbot.mouseClick(button, LEFT)
    assert not docks.prediction.review_button.isChecked() and window.actions["brushAction"].isChecked()
    drag(window.canvas, [(50, 50), (50, 56)])
    assert doc.labels[50, 53] == 2


def test_a_prediction_filling_the_image_shows_its_outline(window, docks):
    doc = window.document
    everything = np.ones(doc.labels.shape, np.uint8)
    docks.state.set_result(doc.image_id, everything, None)
    assert docks.prediction.outline.isChecked()  # the default view
    drawn = docks.overlay.buffer != 0
    h, w = doc.labels.shape
    border = np.zeros((h, w), bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    assert drawn[border].any() and not drawn[~border].any()
    assert "everywhere" in docks.prediction.note.text()
    docks.state.set_result(doc.image_id, two_objects(doc.labels.shape), None)
    assert docks.prediction.note.text() == ""


def test_accepted_objects_are_solid_and_pending_ones_dashed(window, docks):
    doc = window.document
    docks.state.set_result(doc.image_id, two_objects(doc.labels.shape), None)
    docks.prediction.review_button.setChecked(True)
    top_edge = docks.overlay.buffer[30, 30:44] != 0  # outline of the second object, pending
    assert top_edge.any() and not top_edge.all()
    click(window.canvas, 32, 32)  # accept it
    assert (docks.overlay.buffer[30, 30:44] != 0).all()  # solid now
    first = docks.overlay.buffer[4, 4:16] != 0  # the first object is still pending
    assert first.sum() == pytest.approx(12 / 2, abs=2)
    legend = docks.prediction.legend.text()
    assert "solid" in legend and "accepted" in legend and "dashed" in legend and "pending" in legend
    docks.prediction.outline.setChecked(False)  # filled view: pending hatched, accepted filled
    assert (docks.overlay.buffer[31:43, 31:43] != 0).all()
    assert 0 < (docks.overlay.buffer[5:15, 5:15] != 0).mean() < 1
    window.actions["undoAction"].trigger()  # not accepted any more: pending again
    assert 0 < (docks.overlay.buffer[31:43, 31:43] != 0).mean() < 1


def test_undo_and_redo_of_accept_restore_the_status(window, docks, qtbot):
    doc = window.document
    image_id = doc.image_id
    paint_class_3(window, 50, (5, 20))
    assert doc.save_now() and doc.project.image(image_id).status == "partial"
    docks.state.set_result(image_id, two_objects(doc.labels.shape), None)
    qtbot.mouseClick(docks.prediction.accept_button, LEFT)
    assert doc.project.image(image_id).status == "reviewed"
    assert not doc.is_dirty and "*" not in window.windowTitle()  # saved with the status
    window.actions["undoAction"].trigger()
    assert doc.project.image(image_id).status == "partial"
    assert Project.open(doc.project.folder).image(image_id).status == "partial"
    assert not doc.is_dirty and "*" not in window.windowTitle()
    window.actions["redoAction"].trigger()
    assert doc.project.image(image_id).status == "reviewed"
    assert Project.open(doc.project.folder).image(image_id).status == "reviewed"
    qtbot.wait(800)  # past the autosave delay: nothing overwrites the restored status
    assert Project.open(doc.project.folder).image(image_id).status == "reviewed"


def test_undo_of_accept_on_a_predicted_image_gives_predicted_back(window, docks, qtbot):
    doc = window.document
    image_id = doc.image_id
    docks.state.set_result(image_id, two_objects(doc.labels.shape), None)
    assert doc.project.image(image_id).status == "predicted"
    qtbot.mouseClick(docks.prediction.accept_button, LEFT)
    assert doc.project.image(image_id).status == "reviewed"
    window.actions["undoAction"].trigger()
    assert not doc.labels.any() and doc.project.image(image_id).status == "predicted"
    qtbot.wait(800)  # past the autosave delay: still 'predicted', not recomputed as 'unlabelled'
    assert Project.open(doc.project.folder).image(image_id).status == "predicted"
    window.actions["redoAction"].trigger()
    assert doc.project.image(image_id).status == "reviewed"
