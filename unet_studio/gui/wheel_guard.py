"""WheelGuard: spin boxes and combo boxes take the wheel only when they have focus.

Over a scrolling panel the wheel then scrolls the panel instead of changing "Stop after" or a combo box the
pointer happens to cross (issue 19). Installed once on the application; it also gives every spin/combo box
StrongFocus, since the default WheelFocus would focus the box on the first wheel turn and let it change.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QAbstractSpinBox, QComboBox)


class WheelGuard(QObject):
    """An application event filter; `install(root)` also fixes the boxes that already exist under `root`."""

    def install(self, root: QWidget) -> None:
        QApplication.instance().installEventFilter(self)
        for kind in GUARDED:
            for box in root.findChildren(kind):
                _no_wheel_focus(box)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, GUARDED):
            _no_wheel_focus(watched)
        elif kind == QEvent.Type.Wheel and isinstance(watched, GUARDED) and not watched.hasFocus():
            area = _scroll_area_around(watched)
            if area is None:
                event.ignore()  # Qt hands an ignored, filtered wheel on to the parent
            else:
                _forward(event, watched, area.viewport())
            return True
        return False


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def _forward(event: QWheelEvent, source: QWidget, target: QWidget) -> None:
    """The same wheel turn, sent to `target` (Qt propagates only spontaneous wheels, and never past a box
    that accepted it)."""
    pos = QPointF(source.mapTo(target, event.position().toPoint()))
    QApplication.sendEvent(target, QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                                               event.buttons(), event.modifiers(), event.phase(), event.inverted()))
    event.accept()


def _no_wheel_focus(box: QWidget) -> None:
    if box.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
