"""The one table of keyboard and mouse shortcuts: actions, Help > Shortcuts and docs/shortcuts.md use it.

Keys follow napari where it has them (P paint, E erase, F fill, [ ] brush size, V show labels).
Plain data, no Qt: `action` is the QAction objectName (None for mouse gestures handled by the canvas).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    """One row: what the user presses and what it does."""

    group: str
    action: str | None
    title: str
    keys: tuple[str, ...]
    description: str


CLASS_KEYS = tuple(str(n) for n in range(1, 10))

SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Tools", "brushAction", "Brush", ("P",), "Paint the current class"),
    Shortcut("Tools", "objectAction", "Object brush", ("M",),
             "Paint a new object of the current class with each stroke (M again: new objects after a pick)"),
    Shortcut("Tools", None, "Continue an object", ("Ctrl+click", "Alt+click"),
             "With the object brush: strokes add to the object under the pointer (outside objects: new ones)"),
    Shortcut("Tools", "eraserAction", "Eraser", ("E",), "Erase back to unlabelled (0)"),
    Shortcut("Tools", "fillAction", "Fill", ("F",), "Fill the region of equal label under the click, if labels enclose it"),
    Shortcut("Tools", "polygonAction", "Polygon / lasso", ("L",),
             "Click points or drag; double-click or Enter fills, Esc cancels"),
    Shortcut("Tools", "pickerAction", "Class picker", ("I", "K"), "Pick the class under the cursor"),
    Shortcut("Tools", "smallerBrushAction", "Smaller brush", ("[",), "Brush size -10 %"),
    Shortcut("Tools", "largerBrushAction", "Larger brush", ("]",), "Brush size +10 %"),
    Shortcut("Tools", "classAction", "Choose class", CLASS_KEYS, "1 = background, 2 = first object class, ..."),
    Shortcut("Tools", "onlyUnlabelledAction", "Paint only unlabelled", ("U",), "Keep existing labels when painting"),
    Shortcut("Edit", "undoAction", "Undo", ("Ctrl+Z",), "Undo the last stroke on this image (this plane of a stack)"),
    Shortcut("Edit", "redoAction", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    Shortcut("Edit", "saveAction", "Save labels now", ("Ctrl+S",), "Labels also save by themselves"),
    Shortcut("View", "toggleLabelsAction", "Show / hide labels", ("V",), "Toggle the labels overlay"),
    Shortcut("View", "outlineAction", "Outline / filled", ("O",), "Draw labels as outlines or filled"),
    Shortcut("View", "objectOutlinesAction", "Object outlines", ("Shift+O",), "Show / hide each object's contour"),
    Shortcut("View", "uncertaintyAction", "Show / hide uncertainty", ("Ctrl+Shift+U",),
             "Overlay where the live preview is least sure (the brighter, the more a stroke there helps)"),
    Shortcut("View", "fitAction", "Fit", ("Ctrl+0",), "Show the whole image"),
    Shortcut("View", "actualSizeAction", "100 %", ("Ctrl+1",), "One screen pixel per image pixel"),
    Shortcut("View", None, "Zoom", ("Wheel",), "Zoom at the cursor"),
    Shortcut("View", None, "Pan", ("Space+drag", "Middle drag"), "Move the image"),
    Shortcut("Images", "nextImageAction", "Next image", ("PgDown",), "Next image in the browser"),
    Shortcut("Images", "previousImageAction", "Previous image", ("PgUp",), "Previous image in the browser"),
    Shortcut("Images", "nextPlaneAction", "Next plane", (".", "Ctrl+PgDown"),
             "Next Z or T plane of a stack (each plane has its own labels and undo)"),
    Shortcut("Images", "previousPlaneAction", "Previous plane", (",", "Ctrl+PgUp"), "Previous plane of a stack"),
    Shortcut("Model", "trainAction", "Train", ("Ctrl+T",), "Train a model on the labelled images, in the background"),
    Shortcut("Model", "liveTrainingAction", "Live training", ("Ctrl+Shift+T",),
             "Train continuously while you paint (strokes join within seconds of autosave); again to stop"),
    Shortcut("Model", "pauseTrainingAction", "Pause / resume live training", ("Ctrl+Shift+P",),
             "Hold the live run without ending it"),
    Shortcut("Model", "keepModelAction", "Keep this model", ("Ctrl+Shift+K",),
             "Add the live run's current weights to the project's models, while it goes on"),
    Shortcut("Model", "predictAction", "Predict", ("Ctrl+P",), "Predict the current, selected or all images"),
    Shortcut("Model", "acceptPredictionAction", "Accept prediction", ("Ctrl+Shift+A",),
             "Fill the unlabelled pixels from the prediction; painted labels stay (one undo step)"),
    Shortcut("Model", None, "Review objects", ("Click",),
             "With Predictions > Review objects on, a click on a predicted object accepts or rejects it; "
             "picking a painting tool leaves review mode"),
    Shortcut("Model", "exportAction", "Export", ("Ctrl+E",), "Masks, instances, measurements, ROIs, models..."),
    Shortcut("File", "newProjectAction", "New project from folder", ("Ctrl+N",), "Make a folder of images a project"),
    Shortcut("File", "openAction", "Open project", ("Ctrl+O",), "Open a project folder"),
    Shortcut("File", "quitAction", "Quit", ("Ctrl+Q",), "Save and quit"),
    Shortcut("Help", "shortcutsAction", "Shortcuts", ("F1",), "This list"),
)


def shortcut(action: str) -> Shortcut:
    """The row of one action (KeyError for an unknown name)."""
    for row in SHORTCUTS:
        if row.action == action:
            return row
    raise KeyError(action)


def _shown_keys(row: Shortcut) -> str:
    if row.keys == CLASS_KEYS:
        return "`1` ... `9`"
    return " or ".join(f"`{key}`" for key in row.keys)


def shortcuts_markdown() -> str:
    """The table as Markdown (docs/shortcuts.md and the README)."""
    lines = ["| Group | Keys | Command | What it does |", "|---|---|---|---|"]
    for row in SHORTCUTS:
        lines.append(f"| {row.group} | {_shown_keys(row)} | {row.title} | {row.description} |")
    return "\n".join(lines) + "\n"


def shortcuts_html() -> str:
    """The table as HTML for the Help > Shortcuts dialog."""
    rows = "".join(
        f"<tr><td>{row.group}</td><td><b>{_shown_keys(row).replace('`', '')}</b></td>"
        f"<td>{row.title}</td><td>{row.description}</td></tr>"
        for row in SHORTCUTS
    )
    return f"<table cellspacing='6'><tr><th>Group</th><th>Keys</th><th>Command</th><th></th></tr>{rows}</table>"
