"""The Train button and the Trainer refuse the same labels with the same line (data.batches.labels_problem)."""

import numpy as np
import pytest

from tests.gui.big_image_helpers import write_ome_zarr
from tests.gui.helpers import make_project
from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.core.errors import TrainingError
from unet_studio.core.project import Project
from unet_studio.data.batches import check_trainable
from unet_studio.data.sampling import TrainItem
from unet_studio.gui.training_settings import LabelCensus

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("painted", [None, 1, 2])
def test_train_button_and_trainer_give_the_same_reason(tmp_path, painted):
    project = make_project(tmp_path / "p", n_images=1)
    record = project.images[0]
    annotation = np.zeros((record.height, record.width), np.uint8)
    if painted is not None:
        annotation[:4] = painted  # background only, or one object class only
        project.save_annotation(record.id, annotation)
    blocker = LabelCensus().blocker(project)
    image = np.zeros((1, *annotation.shape), np.float32)
    with pytest.raises(TrainingError) as refused:
        check_trainable([TrainItem(image, annotation.astype(np.int64) - 1)])
    assert refused.value.reason == blocker
    assert blocker == {None: "no labelled pixels yet: label some background and objects first",
                       1: "only background is labelled: label background and at least one object class",
                       2: "only class 1 is labelled: label background and at least one object class"}[painted]


def test_a_big_images_chunked_labels_count_from_the_index(tmp_path, monkeypatch):
    """Labels painted in the tiled viewer (chunked) enable Train; counted from the store's index, and read
    again only after the index changes."""
    project = Project.create(tmp_path / "p", [write_ome_zarr(tmp_path / "big.ome.zarr", size=512, n_levels=1)])
    census = LabelCensus()
    assert census.blocker(project) == "no labelled pixels yet: label some background and objects first"
    store = project.chunked_labels("big", chunk=128)
    store.write(0, 0, np.ones((8, 8), np.uint8))
    assert census.blocker(project).startswith("only background is labelled")
    store.write(300, 300, np.full((4, 4), 2, np.uint8))
    assert census.blocker(project) is None
    calls = []
    monkeypatch.setattr(ChunkedLabels, "values_present", lambda self: calls.append(1) or (1, 2))
    assert census.blocker(project) is None and not calls  # the index did not change: nothing re-read
