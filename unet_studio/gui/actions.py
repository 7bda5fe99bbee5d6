"""QActions built from the one shortcut table, and the menus that show them."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QMainWindow, QMenu

from unet_studio.gui.shortcuts import CLASS_KEYS, SHORTCUTS, Shortcut

TOOL_NAMES = {
    "brushAction": "brush",
    "objectAction": "object",
    "eraserAction": "eraser",
    "fillAction": "fill",
    "polygonAction": "polygon",
    "pickerAction": "picker",
}
CHECKABLE = {"onlyUnlabelledAction": False, "toggleLabelsAction": True, "outlineAction": False,
             "objectOutlinesAction": True, "uncertaintyAction": False}
TOGGLES = {"fillEnclosedAction": ("Fill only enclosed areas", True)}  # menu toggles without a key
UNTABLED = {  # menu entries without a key
    "addImagesAction": "Add images...",
    "importLabelsAction": "Import labels...",
    "projectSettingsAction": "Project settings...",
    "demoAction": "Open demo project",
    "clearRecentAction": "Clear recent projects",
    "guideAction": "Getting started",
    "aboutAction": "About UNet Studio",
}


def _keys(row: Shortcut) -> list[QKeySequence]:
    return [QKeySequence(key) for key in row.keys]


def build_actions(window: QMainWindow, undo_group: QUndoGroup) -> dict[str, QAction]:
    """Every table action with its objectName and keys, added to the window so keys work anywhere."""
    actions: dict[str, QAction] = {}
    tools = QActionGroup(window)
    for row in SHORTCUTS:
        if row.action is None or row.group == "Model":  # Model actions are made by gui/training_docks.py
            continue
        if row.action == "classAction":
            for n, key in enumerate(CLASS_KEYS, start=1):
                action = QAction(f"Class {n}", window)
                action.setObjectName(f"class{n}Action")
                action.setShortcut(QKeySequence(key))
                actions[action.objectName()] = action
            continue
        if row.action == "undoAction":
            action = undo_group.createUndoAction(window, "Undo")
        elif row.action == "redoAction":
            action = undo_group.createRedoAction(window, "Redo")
        else:
            action = QAction(row.title, window)
        action.setObjectName(row.action)
        action.setShortcuts(_keys(row))
        action.setToolTip(f"{row.title} ({', '.join(row.keys)}): {row.description}")
        if row.action in TOOL_NAMES:
            action.setCheckable(True)
            tools.addAction(action)
        if row.action in CHECKABLE:
            action.setCheckable(True)
            action.setChecked(CHECKABLE[row.action])
        actions[row.action] = action
    actions["brushAction"].setChecked(True)
    for name, text in UNTABLED.items():
        action = QAction(text, window)
        action.setObjectName(name)
        actions[name] = action
    for name, (text, checked) in TOGGLES.items():
        action = QAction(text, window)
        action.setObjectName(name)
        action.setCheckable(True)
        action.setChecked(checked)
        action.setToolTip("Fill only areas closed by labels; an area that reaches the image edge is left alone")
        actions[name] = action
    window.addActions(list(actions.values()))
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction]) -> QMenu:
    """The menu bar; returns the (initially empty) File > Open recent menu to fill later."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions["newProjectAction"])
    file_menu.addAction(actions["openAction"])
    recent = file_menu.addMenu("Open &recent")
    recent.setObjectName("recentMenu")
    file_menu.addAction(actions["demoAction"])
    file_menu.addSeparator()
    for name in ("addImagesAction", "importLabelsAction", "projectSettingsAction", "saveAction"):
        file_menu.addAction(actions[name])
    file_menu.addSeparator()
    file_menu.addAction(actions["quitAction"])
    edit_menu = bar.addMenu("&Edit")
    edit_menu.addActions([actions["undoAction"], actions["redoAction"]])
    tools_menu = bar.addMenu("&Tools")
    tools_menu.addActions([actions[name] for name in TOOL_NAMES])
    tools_menu.addSeparator()
    tools_menu.addActions([actions["smallerBrushAction"], actions["largerBrushAction"], actions["onlyUnlabelledAction"],
                           actions["fillEnclosedAction"]])
    view_menu = bar.addMenu("&View")
    view_menu.setObjectName("viewMenu")
    view_menu.addActions([actions[name] for name in ("toggleLabelsAction", "outlineAction", "objectOutlinesAction",
                                                     "uncertaintyAction", "fitAction", "actualSizeAction")])
    images_menu = bar.addMenu("&Images")
    images_menu.addActions([actions[name] for name in ("nextImageAction", "previousImageAction", "nextPlaneAction",
                                                       "previousPlaneAction")])
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([actions["guideAction"], actions["shortcutsAction"], actions["aboutAction"]])
    return recent
