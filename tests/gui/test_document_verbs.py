"""The document's verbs change the project and announce it themselves (panels no longer emit its signals)."""

import numpy as np
import pytest

from tests.gui.helpers import make_project
from unet_studio.core.errors import ProjectError
from unet_studio.gui.document import AnnotationDocument

pytestmark = pytest.mark.gui


@pytest.fixture
def document(qtbot, tmp_path):
    document = AnnotationDocument()
    document.set_project(make_project(tmp_path / "p", n_images=1))
    return document


def test_set_status_and_save_prediction_emit_records_changed(qtbot, document):
    image_id = document.project.images[0].id
    with qtbot.waitSignal(document.records_changed, timeout=1000):
        document.set_status(image_id, "reviewed")
    assert document.project.image(image_id).status == "reviewed"
    assert document.project.prediction_path(image_id) is None
    mask = np.zeros((64, 64), np.uint8)
    mask[:8] = 1
    with qtbot.waitSignal(document.records_changed, timeout=1000):
        document.save_prediction(image_id, mask)
    assert document.project.prediction_path(image_id).name == f"{image_id}.png"
    np.testing.assert_array_equal(document.project.load_prediction(image_id), mask)


def test_a_refused_status_raises_and_announces_nothing(qtbot, document):
    image_id = document.project.images[0].id
    with qtbot.assertNotEmitted(document.records_changed), pytest.raises(ProjectError, match="unknown status"):
        document.set_status(image_id, "done")
