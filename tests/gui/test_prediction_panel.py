"""The predictions dock: background prediction with progress and cancel, threshold, accept."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton

from tests.gui.helpers import make_project
from tests.gui.training_helpers import tiny_checkpoint, with_model  # noqa: F401 (fixture)
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.prediction_panel import PredictionPanel
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.review_tools import ReviewController

pytestmark = pytest.mark.gui


def make_panel(qtbot, project):
    document = AnnotationDocument()
    state = PredictionState(document)
    panel = PredictionPanel(document, state, ReviewController(document, state),
                            selection=lambda: [r.id for r in document.records][1:])
    qtbot.addWidget(panel)
    document.set_project(project)
    document.set_image(project.images[0].id)
    return document, state, panel


def test_predict_needs_an_active_model(qtbot, tmp_path):
    _, _, panel = make_panel(qtbot, make_project(tmp_path / "p", n_images=1))
    button = panel.findChild(QPushButton, "predictButton")
    assert not button.isEnabled() and "no active model" in button.toolTip()
    assert not panel.predict()


def test_predict_current_stores_shows_and_rethresholds(qtbot, tmp_path, tiny_checkpoint):
    project = with_model(make_project(tmp_path / "p", n_images=2), tiny_checkpoint)
    document, state, panel = make_panel(qtbot, project)
    with qtbot.waitSignal(panel.prediction_finished, timeout=20000):
        qtbot.mouseClick(panel.findChild(QPushButton, "predictButton"), Qt.MouseButton.LeftButton)
    assert "1 image(s) predicted" in panel.message.text()
    assert state.mask is not None and state.mask.shape == document.labels.shape
    assert project.image("img_00").status == "predicted" and project.image("img_01").status == "unlabelled"
    assert np.array_equal(project.load_prediction("img_00"), state.mask)
    assert panel.threshold.isEnabled()  # two-class model: probabilities kept
    panel.threshold.setValue(1)
    low = int(state.mask.sum())
    panel.threshold.setValue(99)
    assert int(state.mask.sum()) <= low
    assert panel.findChild(QAction, "acceptPredictionAction").isEnabled()


def test_predict_selected_and_all_in_the_background(qtbot, tmp_path, tiny_checkpoint):
    project = with_model(make_project(tmp_path / "p", n_images=3), tiny_checkpoint)
    _, _, panel = make_panel(qtbot, project)
    panel.scope.setCurrentIndex(panel.scope.findData("selected"))
    assert panel.image_ids() == ["img_01", "img_02"]
    with qtbot.waitSignal(panel.prediction_finished, timeout=20000):
        assert panel.predict()
        assert panel.running and panel.cancel_button.isEnabled() and not panel.predict_button.isEnabled()
    assert [project.load_prediction(r.id) is not None for r in project.images] == [False, True, True]
    assert panel.progress.value() == 2
    panel.scope.setCurrentIndex(panel.scope.findData("all"))
    with qtbot.waitSignal(panel.prediction_finished, timeout=20000):
        assert panel.predict()
        panel.cancel()
    assert panel.message.text().startswith("Cancelled") and not panel.running


def test_accept_action_copies_prediction_as_one_undo_step(qtbot, tmp_path, tiny_checkpoint):
    project = with_model(make_project(tmp_path / "p", n_images=1), tiny_checkpoint)
    document, state, panel = make_panel(qtbot, project)
    with qtbot.waitSignal(panel.prediction_finished, timeout=20000):
        panel.predict()
    panel.findChild(QAction, "acceptPredictionAction").trigger()
    assert np.array_equal(document.labels, state.mask + 1)
    assert project.image("img_00").status == "reviewed"
    document.history("img_00").undo()
    assert not document.labels.any()
