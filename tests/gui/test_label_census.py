"""The Train button and the Trainer refuse the same labels with the same line (data.batches.labels_problem)."""

import numpy as np
import pytest

from tests.gui.helpers import make_project
from unet_studio.core.errors import TrainingError
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
