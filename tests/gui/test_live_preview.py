"""Live previews in pieces, the uncertainty they carry, and the browser's "most uncertain first" order
(no training here: frames and scores are made by hand)."""

import numpy as np
import pytest

from tests.gui.helpers import make_project
from tests.gui.test_review_tools import preview_frame
from unet_studio.gui.dataset_model import UNCERTAINTY
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.live_uncertainty import PlaneTurns, UncertaintyOverlayItem, mean_uncertainty, normalised_entropy, \
    uncertainty_map
from unet_studio.gui.prediction_overlay import PredictionOverlayItem
from unet_studio.gui.prediction_state import PredictionState

pytestmark = pytest.mark.gui


def two_class(fg: np.ndarray) -> np.ndarray:
    fg = np.asarray(fg, np.float32)
    return np.stack([1 - fg, fg])


def test_uncertainty_is_the_normalised_entropy():
    probs = two_class([[0.5, 1.0, 0.0, 0.9]])
    expected = [1.0, 0.0, 0.0, -(0.9 * np.log(0.9) + 0.1 * np.log(0.1)) / np.log(2)]
    np.testing.assert_allclose(normalised_entropy(probs)[0], expected, atol=1e-5)
    three = np.full((3, 2, 2), 1 / 3, np.float32)
    np.testing.assert_allclose(normalised_entropy(three), 1.0, atol=1e-5)
    assert uncertainty_map(probs).tolist() == [[255, 0, 0, 120]]
    assert mean_uncertainty(three) == pytest.approx(1.0, abs=1e-5)
    assert normalised_entropy(np.ones((1, 3, 3), np.float32)).max() == 0  # one class: nothing to doubt


@pytest.fixture
def shown(qtbot, tmp_path):
    document = AnnotationDocument()
    state = PredictionState(document)
    document.set_project(make_project(tmp_path / "project", n_images=2))
    document.set_image("img_00")
    yield document, state
    document.close_image()


def test_a_region_frame_is_pasted_into_the_shown_preview(shown):
    document, state = shown
    overlay, uncertainty = PredictionOverlayItem(state), UncertaintyOverlayItem(state)
    regions = []
    state.region_changed.connect(regions.append)
    state.set_preview(preview_frame("img_00", two_class(np.zeros((64, 64))), step=3))
    assert state.is_preview and state.preview_step == 3 and not state.mask.any()
    shown_mask = state.mask
    part = two_class(np.full((10, 20), 0.9))
    state.set_preview(preview_frame("img_00", part, step=7, region=(5, 10, 15, 30)))
    assert state.mask is shown_mask and regions == [(5, 10, 15, 30)]  # pasted in place, not rebuilt
    assert state.mask[5:15, 10:30].all() and state.mask.sum() == 200 and state.preview_step == 7
    assert state.uncertainty[5:15, 10:30].min() == 120 and state.uncertainty[:5].max() == 0
    assert overlay.buffer[5:15, 10:30].any() and not overlay.buffer[20:].any()
    assert overlay.toolTip().endswith("Live preview from training step 7")  # which weights made it
    assert uncertainty.buffer.shape == (64, 64) and uncertainty.buffer[5:15, 10:30].all()
    assert not uncertainty.isVisible()  # until the View action shows it
    state.set_threshold(0.95)  # the foreground of the pasted piece was kept for re-thresholding
    assert not state.mask.any()


def test_a_region_frame_without_a_whole_preview_starts_from_background(shown):
    document, state = shown
    state.set_preview(preview_frame("img_00", two_class(np.ones((4, 4))), step=1, region=(0, 0, 4, 4)))
    assert state.mask.shape == (64, 64) and state.mask.sum() == 16
    state.set_preview(preview_frame("img_01", two_class(np.ones((64, 64)))))  # not the image shown
    assert state.mask.sum() == 16
    document.set_image("img_01")
    assert state.uncertainty is None and state.preview_step is None


def test_browser_sorts_the_unlabelled_images_most_uncertain_first(window):
    browser = window.browser
    assert browser.view.isColumnHidden(UNCERTAINTY)
    assert browser.visible_ids() == ["img_00", "img_01", "img_02"]
    for image_id, value in (("img_00", 0.2), ("img_01", 0.7), ("img_02", 0.4)):
        browser.model.set_uncertainty(image_id, value)
    assert not browser.view.isColumnHidden(UNCERTAINTY)
    browser.uncertain_button.click()
    assert browser.visible_ids() == ["img_01", "img_02", "img_00"]
    browser.model.set_uncertainty("img_00", 0.9)  # a new score re-sorts at once
    assert browser.visible_ids() == ["img_00", "img_01", "img_02"]
    assert browser.proxy.index(0, UNCERTAINTY).data() == "0.90"
    browser.uncertain_button.click()
    assert browser.visible_ids() == ["img_00", "img_01", "img_02"]


def test_plane_turns_go_round_the_planes_and_score_a_stack_by_its_most_uncertain_plane():
    turns = PlaneTurns()
    seen = []
    for score in (0.2, 0.5, 0.1):  # the first round of a 3-plane stack
        plane = turns.next_plane("stack")
        seen.append((plane, turns.record("stack", plane, 3, score)))
    assert seen == [(0, 0.2), (1, 0.5), (2, 0.5)]
    assert turns.next_plane("stack") == 0 and turns.record("stack", 0, 3, 0.3) == 0.5
    assert turns.record("stack", 1, 3, 0.05) == pytest.approx(0.3)  # each plane's latest score counts
    assert turns.next_plane("flat.png") == 0 and turns.record("flat.png", 0, 1, 0.4) == 0.4
    assert turns.next_plane("flat.png") == 0
    turns.forget("stack")
    assert turns.next_plane("stack") == 0 and turns.record("stack", 0, 3, 0.01) == 0.01
