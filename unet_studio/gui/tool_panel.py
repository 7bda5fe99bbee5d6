"""The tool panel: tool buttons, brush size, overlay opacity, paint mode and display toggles."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFormLayout, QGridLayout, QSizePolicy, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget

from unet_studio.gui.tools import MAX_BRUSH, MIN_BRUSH, ToolController

TOOL_ACTIONS = ("brushAction", "objectAction", "eraserAction", "fillAction", "polygonAction", "pickerAction")
TOGGLE_ACTIONS = ("onlyUnlabelledAction", "fillEnclosedAction", "toggleLabelsAction", "outlineAction")


class ToolPanel(QWidget):
    """Buttons for the tool actions plus `brushSizeSpin` and `opacitySlider`."""

    def __init__(self, tools: ToolController, actions: dict[str, QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.tools = tools
        grid = QGridLayout()
        for i, name in enumerate(TOOL_ACTIONS):
            grid.addWidget(self._button(actions[name]), i // 3, i % 3)
        self.brush_size = QSpinBox()
        self.brush_size.setObjectName("brushSizeSpin")
        self.brush_size.setRange(MIN_BRUSH, MAX_BRUSH)
        self.brush_size.setSuffix(" px")
        self.brush_size.setValue(tools.brush_size)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        form = QFormLayout()
        form.addRow("Brush size", self.brush_size)
        form.addRow("Label opacity", self.opacity)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(form)
        toggles = QGridLayout()  # two columns: the Tools dock stays short, the Training dock gets the room
        for i, name in enumerate(TOGGLE_ACTIONS):
            toggles.addWidget(self._button(actions[name], text_beside=True), i // 2, i % 2)
        layout.addLayout(toggles)
        layout.addStretch(1)
        self.brush_size.valueChanged.connect(tools.set_brush_size)
        tools.brush_size_changed.connect(self.brush_size.setValue)

    @staticmethod
    def _button(action: QAction, text_beside: bool = False) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        if text_beside:
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return button
