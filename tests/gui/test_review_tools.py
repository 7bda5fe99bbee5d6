"""Prediction state, overlay and review: accept all / accept or reject one object, one undo step each."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from tests.gui.helpers import make_project
from unet_studio.core.project import Project
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.prediction_overlay import PredictionOverlayItem
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.review_tools import ReviewController, ReviewTool, patch_to
from unet_studio.gui.training_worker import PreviewFrame
from unet_studio.training.events import PreviewReady

pytestmark = pytest.mark.gui


def two_objects(shape=(64, 64)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[5:15, 5:15] = 1
    mask[30:40, 30:45] = 1
    return mask


@pytest.fixture
def review(qtbot, tmp_path):
    project = make_project(tmp_path / "project", n_images=2)
    document = AnnotationDocument()
    state = PredictionState(document)
    document.set_project(project)
    document.set_image("img_00")
    yield document, state, ReviewController(document, state)
    document.close_image()


def preview_frame(image_id: str, probabilities: np.ndarray, step: int = 0, region=None) -> PreviewFrame:
    return PreviewFrame.of(image_id, PreviewReady(0, 0, probabilities, step, region))


def probabilities_from(mask: np.ndarray) -> np.ndarray:
    fg = np.where(mask > 0, 0.8, 0.1).astype(np.float32)
    fg[5:15, 5:15] = 0.6
    return np.stack([1 - fg, fg])


def test_patch_to_records_only_changed_pixels_without_editing():
    labels = np.zeros((8, 8), np.uint8)
    labels[2, 2] = 3
    select = np.zeros((8, 8), bool)
    select[1:4, 1:4] = True
    patch = patch_to(labels, select, 3)
    assert patch.n_pixels == 8 and patch.bbox == (1, 1, 4, 4)
    assert labels.sum() == 3
    assert patch_to(labels, np.zeros((8, 8), bool), 1) is None


def test_result_is_stored_shown_and_rethresholded(review):
    document, state, _ = review
    overlay = PredictionOverlayItem(state)
    mask = two_objects()
    state.set_result("img_00", mask, probabilities_from(mask))
    assert state.can_rethreshold and state.mask.sum() == mask.sum()
    assert document.project.image("img_00").status == "predicted"
    assert np.array_equal(document.project.load_prediction("img_00"), mask)
    assert overlay.buffer.shape == (64, 64) and overlay.buffer.any()
    state.set_threshold(0.7)  # the 0.6 object disappears, no network involved
    assert state.mask[10, 10] == 0 and state.mask[35, 35] == 1
    state.save_now()
    assert Project.open(document.project.folder).load_prediction("img_00")[10, 10] == 0


def test_accept_all_is_one_undo_step_and_marks_reviewed(review):
    document, state, controller = review
    mask = two_objects()
    state.set_result("img_00", mask, None)
    assert controller.accept_all()
    assert np.array_equal(document.labels, mask + 1)
    stack = document.history("img_00")
    assert stack.count() == 1
    assert document.project.image("img_00").status == "reviewed"
    assert np.array_equal(document.project.load_annotation("img_00"), mask + 1)
    stack.undo()
    assert not document.labels.any()
    stack.redo()
    assert np.array_equal(document.labels, mask + 1)


def test_click_accepts_or_rejects_one_object(review):
    document, state, controller = review
    mask = two_objects()
    state.set_result("img_00", mask, None)
    tool = ReviewTool(controller)
    tool.press(QPointF(10.5, 10.5))  # scene (x, y): pixel row 10, column 10
    assert document.labels[10, 10] == 2 and document.labels[35, 35] == 0
    assert (document.labels == 2).sum() == 100
    assert not controller.click(60, 60)  # background: nothing to do
    controller.set_mode("reject")
    assert controller.click(35, 35)
    assert (document.labels[30:40, 30:45] == 1).all() and state.mask[35, 35] == 0
    assert document.project.load_prediction("img_00")[35, 35] == 0
    stack = document.history("img_00")
    assert stack.count() == 2
    stack.undo()
    assert document.labels[35, 35] == 0 and state.mask[35, 35] == 1
    assert document.project.load_prediction("img_00")[35, 35] == 1
    stack.undo()
    assert not document.labels.any()


def test_preview_is_shown_but_not_stored(review):
    document, state, _ = review
    mask = two_objects()
    state.set_preview(preview_frame("img_00", probabilities_from(mask)))
    assert state.is_preview and state.mask.sum() == mask.sum()
    assert document.project.load_prediction("img_00") is None
    state.set_preview(preview_frame("img_01", probabilities_from(mask)))  # not the image shown: ignored
    assert state.image_id == "img_00"
    document.set_image("img_01")
    assert state.mask is None
