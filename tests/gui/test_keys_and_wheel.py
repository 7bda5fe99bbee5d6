"""Keys and the wheel go where the pointer is (issue 19 item 8): canvas shortcuts work over the canvas right
after typing in a spin box, and the wheel over a panel scrolls it instead of changing an unfocused box."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QSpinBox

from tests.gui.helpers import hover

pytestmark = pytest.mark.gui


def wheel(widget, notches: int = -1) -> None:
    """One real wheel event at the widget's centre (negative notches scroll down)."""
    pos = widget.rect().center()
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_bracket_over_the_canvas_right_after_typing_in_a_spin_box(window, qtbot):
    window.training_docks.docks["training"].raise_()
    seconds = window.findChild(QSpinBox, "trainSecondsSpin")
    qtbot.mouseClick(seconds, Qt.MouseButton.LeftButton)
    seconds.lineEdit().selectAll()
    qtbot.keyClicks(seconds.lineEdit(), "45")
    assert seconds.value() == 45 and seconds.hasFocus()
    window.tools.set_brush_size(20)
    hover(window.canvas, 30, 30)  # the pointer moves onto the canvas; no click
    qtbot.keyClick(QApplication.focusWidget(), "]")
    assert window.tools.brush_size > 20
    qtbot.keyClick(QApplication.focusWidget(), "e")
    assert window.tools.tool.value == "eraser"
    assert seconds.value() == 45  # the typed value stays


def test_wheel_over_the_training_panel_scrolls_it_and_leaves_the_values(window, qtbot):
    window.resize(1000, 400)  # short enough that the Training panel scrolls
    window.training_docks.docks["training"].raise_()
    qtbot.wait(50)
    seconds = window.findChild(QSpinBox, "trainSecondsSpin")
    limit = window.findChild(QComboBox, "limitCombo")
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is window.training_docks.training)
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0
    before = (seconds.value(), limit.currentIndex())
    wheel(seconds)
    wheel(limit)
    assert (seconds.value(), limit.currentIndex()) == before
    assert bar.value() > 0
    seconds.setFocus()  # a focused box still takes the wheel
    wheel(seconds, 1)
    assert seconds.value() == before[0] + 1
