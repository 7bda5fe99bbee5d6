"""The object brush through the real canvas: new ids per stroke, continuing an object, class edits clearing
ids, one undo step for both layers, outlines, and the Help table."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import drag, view_point
from unet_studio.gui.object_outlines import object_colour

pytestmark = pytest.mark.gui


def ctrl_click(canvas, row: float, col: float, modifier=Qt.KeyboardModifier.ControlModifier) -> None:
    """A left click with a modifier held on image pixel (row, col)."""
    pos = QPointF(view_point(canvas, row, col))
    glob = QPointF(canvas.viewport().mapToGlobal(pos.toPoint()))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left), (QEvent.Type.MouseButtonRelease, none)):
        QApplication.sendEvent(canvas.viewport(), QMouseEvent(kind, pos, glob, left, buttons, modifier))


@pytest.fixture
def objects(window, qtbot):
    """The window with the object brush chosen (its action: M is pressed in the tests), 5 px wide."""
    window.actions["objectAction"].trigger()
    window.tools.set_brush_size(5)
    return window


def test_each_stroke_is_a_new_object_of_the_current_class(objects, qtbot):
    doc = objects.document
    assert doc.instances.ids is None  # no layer until the first object
    drag(objects.canvas, [(10, 5), (10, 25)])
    drag(objects.canvas, [(30, 5), (30, 25)])
    qtbot.keyClick(objects.canvas, "3")
    drag(objects.canvas, [(50, 5), (50, 25)])
    ids, labels = doc.instances.ids, doc.labels
    assert ids[10, 15] == 1 and ids[30, 15] == 2 and ids[50, 15] == 3
    assert labels[10, 15] == 2 and labels[30, 15] == 2 and labels[50, 15] == 3
    assert ((ids > 0) == (labels > 0)).all()
    assert doc.history(doc.image_id).count() == 3


def test_a_stroke_over_an_object_takes_those_pixels(objects):
    doc = objects.document
    drag(objects.canvas, [(20, 5), (20, 40)])
    drag(objects.canvas, [(5, 20), (40, 20)])
    assert doc.instances.ids[20, 20] == 2 and doc.instances.ids[20, 8] == 1 and doc.labels[20, 20] == 2


def test_ctrl_click_continues_an_object_and_m_starts_new_ones(objects, qtbot):
    doc, tools = objects.document, objects.tools
    drag(objects.canvas, [(10, 5), (10, 20)])
    qtbot.keyClick(objects.canvas, "3")
    drag(objects.canvas, [(30, 5), (30, 20)])
    qtbot.keyClick(objects.canvas, "2")
    ctrl_click(objects.canvas, 30, 10)  # object 2, class 3: the class follows the object
    assert tools.object_id == 2 and tools.class_value == 3
    hint = objects.canvas.hint
    assert "add to object 2" in hint.text() and hint.isVisible()
    drag(objects.canvas, [(45, 5), (45, 20)])
    assert doc.instances.ids[45, 10] == 2 and doc.labels[45, 10] == 3
    ctrl_click(objects.canvas, 60, 60, Qt.KeyboardModifier.AltModifier)  # no object there: new objects again
    assert tools.object_id == 0 and "each stroke a new object" in hint.text()
    ctrl_click(objects.canvas, 10, 10)
    qtbot.keyClick(objects.canvas, "m")  # M again: new objects
    drag(objects.canvas, [(55, 5), (55, 20)])
    assert doc.instances.ids[55, 10] == 3 and doc.labels[55, 10] == 2
    assert doc.labels[60, 60] == 0  # the picking clicks painted nothing


def test_eraser_and_class_brush_clear_ids_where_they_change_the_class(objects, qtbot):
    doc = objects.document
    objects.tools.set_brush_size(9)
    drag(objects.canvas, [(20, 10), (20, 50)])
    qtbot.keyClick(objects.canvas, "e")
    drag(objects.canvas, [(20, 15)])
    qtbot.keyClick(objects.canvas, "p")
    qtbot.keyClick(objects.canvas, "1")  # background
    drag(objects.canvas, [(20, 30)])
    qtbot.keyClick(objects.canvas, "3")  # another object class: those pixels are no longer the object's
    drag(objects.canvas, [(20, 45)])
    ids, labels = doc.instances.ids, doc.labels
    assert labels[20, 15] == 0 and labels[20, 30] == 1 and labels[20, 45] == 3
    assert ids[20, 15] == 0 and ids[20, 30] == 0 and ids[20, 45] == 0
    assert ids[20, 22] == 1 and labels[20, 22] == 2  # the rest of the object stays
    assert (ids[labels != 2] == 0).all()


def test_undo_and_redo_restore_both_layers(objects, qtbot):
    doc = objects.document
    drag(objects.canvas, [(10, 5), (10, 40)])
    snapshots = [(doc.labels.copy(), doc.instances.ids.copy())]
    drag(objects.canvas, [(5, 20), (30, 20)])  # a second object across the first
    snapshots.append((doc.labels.copy(), doc.instances.ids.copy()))
    qtbot.keyClick(objects.canvas, "e")
    drag(objects.canvas, [(10, 10), (10, 30)])
    snapshots.append((doc.labels.copy(), doc.instances.ids.copy()))
    qtbot.keyClick(objects.canvas, "p")
    qtbot.keyClick(objects.canvas, "3")
    drag(objects.canvas, [(20, 15), (20, 25)])  # class brush over object 2
    snapshots.append((doc.labels.copy(), doc.instances.ids.copy()))
    stack = doc.history(doc.image_id)
    assert stack.count() == 4
    for labels, ids in reversed(snapshots[:-1]):
        stack.undo()
        np.testing.assert_array_equal(doc.labels, labels)
        np.testing.assert_array_equal(doc.instances.ids, ids)
    stack.undo()
    assert not doc.labels.any() and not doc.instances.ids.any()
    for labels, ids in snapshots:
        stack.redo()
        np.testing.assert_array_equal(doc.labels, labels)
        np.testing.assert_array_equal(doc.instances.ids, ids)
    assert stack.command(1).ids.n_pixels < doc.labels.size // 10  # memory by changed pixels


def test_fill_over_an_object_takes_its_pixels_out_in_the_same_step(objects, qtbot):
    doc = objects.document
    drag(objects.canvas, [(30, 20), (30, 40)])  # an object, enclosed by unlabelled pixels
    qtbot.keyClick(objects.canvas, "3")
    qtbot.keyClick(objects.canvas, "f")
    drag(objects.canvas, [(30, 30)])  # fill the object's region with class 3
    assert doc.labels[30, 30] == 3 and doc.instances.ids[30, 30] == 0
    assert objects.canvas.objects.buffer[30, 18] == 0  # its outline went with it
    doc.history(doc.image_id).undo()
    assert doc.labels[30, 30] == 2 and doc.instances.ids[30, 30] == 1


def test_object_brush_refuses_the_background_class(objects, qtbot):
    qtbot.keyClick(objects.canvas, "1")
    drag(objects.canvas, [(20, 20), (20, 30)])
    assert not objects.document.labels.any()
    assert "object class" in objects.status.currentMessage()


def test_outlines_show_each_object_and_toggle(objects):
    drag(objects.canvas, [(20, 10), (20, 30)])
    drag(objects.canvas, [(20, 30), (20, 50)])  # touching the first
    buffer = objects.canvas.objects.buffer
    assert buffer[20, 10 - 2] == object_colour(1)  # the left end of object 1 is its edge
    assert buffer[20, 20] == 0  # inside object 1: no contour
    border = [(int(buffer[20, col]), col) for col in range(26, 34) if buffer[20, col]]
    assert {object_colour(1), object_colour(2)} <= {c for c, _ in border}  # where one ends, the next begins
    assert object_colour(1) != object_colour(2)
    objects.actions["objectOutlinesAction"].trigger()
    assert not objects.canvas.objects.isVisible()
    objects.actions["objectOutlinesAction"].trigger()
    assert objects.canvas.objects.isVisible()


def test_m_chooses_the_object_brush_listed_in_help(objects, qtbot):
    from unet_studio.gui.shortcuts import shortcut

    assert shortcut("objectAction").keys == ("M",)
    qtbot.keyClick(objects.canvas, "p")
    assert objects.tools.tool.value == "brush"
    qtbot.keyClick(objects.canvas, "m")
    assert objects.actions["objectAction"].isChecked()
    assert objects.tools.tool.value == "object"
    assert objects.canvas.ring_diameter == 5
