"""Small widget helpers shared by the panels."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton


def named_button(name: str, text: str, slot) -> QPushButton:
    """A push button with an objectName (for scripted tests) whose click calls `slot`."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(slot)
    return button
