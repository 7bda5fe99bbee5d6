"""The training, predictions, models and quality docks in the real main window, driven through the canvas."""

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QPushButton

from tests.gui.helpers import click, drag
from unet_studio.gui.training_docks import open_export_dialog, selected_image_ids

pytestmark = pytest.mark.gui


def blob_mask(shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[4:12, 4:12] = 1
    mask[20:30, 20:28] = 1
    return mask


def test_docks_and_menu_are_installed(window, docks):
    titles = {d.windowTitle() for d in window.findChildren(QDockWidget)}
    assert {"Training", "Predictions", "Models", "Quality"} <= titles
    menu = window.findChild(QMenu, "modelMenu")
    names = {a.objectName() for a in menu.actions()}
    assert {"trainAction", "predictAction", "acceptPredictionAction", "exportAction"} <= names
    assert window.findChild(QPushButton, "trainButton") is docks.training.train_button
    assert selected_image_ids(window) == [window.document.image_id]
    window.browser.view.selectAll()
    assert selected_image_ids(window) == [r.id for r in window.document.records]


def test_overlay_shows_the_prediction_on_the_canvas(window, docks):
    doc = window.document
    docks.state.set_result(doc.image_id, blob_mask(doc.labels.shape), None)
    assert docks.overlay.scene() is window.canvas.scene()
    assert docks.overlay.buffer[4, 4] != 0 and docks.overlay.buffer[8, 8] == 0  # outline only
    docks.prediction.outline.setChecked(False)
    assert docks.overlay.buffer[8, 8] != 0
    docks.prediction.opacity.setValue(40)
    assert abs(docks.overlay.opacity() - 0.4) < 1e-6


def test_review_mode_clicks_accept_and_reject_objects_with_undo(window, docks):
    doc = window.document
    mask = blob_mask(doc.labels.shape)
    docks.state.set_result(doc.image_id, mask, None)
    docks.prediction.review_button.setChecked(True)
    assert window.canvas.tool_handler is docks.review_tool
    click(window.canvas, 8, 8)
    assert (doc.labels == 2).sum() == 64 and doc.labels[25, 25] == 0
    docks.prediction.reject_radio.setChecked(True)
    click(window.canvas, 25, 25)
    assert (doc.labels[20:30, 20:28] == 1).all() and docks.state.mask[25, 25] == 0
    window.actions["undoAction"].trigger()
    assert doc.labels[25, 25] == 0 and docks.state.mask[25, 25] == 1
    window.actions["undoAction"].trigger()
    assert not doc.labels.any()
    docks.prediction.review_button.setChecked(False)
    assert window.canvas.tool_handler is window.tools
    drag(window.canvas, [(40, 40), (40, 45)])  # painting works again
    assert doc.labels[40, 42] == 2


def test_accept_action_from_the_menu_and_export_dialog(window, docks, qtbot):
    doc = window.document
    docks.state.set_result(doc.image_id, blob_mask(doc.labels.shape), None)
    window.findChild(QAction, "acceptPredictionAction").trigger()
    assert np.array_equal(doc.labels, blob_mask(doc.labels.shape) + 1)
    assert doc.project.image(doc.image_id).status == "reviewed"
    dialog = open_export_dialog(window)
    assert dialog.image_ids == [doc.image_id] and dialog.isVisible()
    dialog.close()
