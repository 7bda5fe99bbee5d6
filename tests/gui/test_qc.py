"""Quality control: per-class scores of new vs previous model, and the warning banner."""

import pytest
import torch
from torch import nn

from tests.gui.training_helpers import labelled_project, tiny_checkpoint  # noqa: F401 (fixture)
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.qc import QcPanel
from unet_studio.inference.scoring import ModelScores, QcImage, score_model, warnings_for
from unet_studio.models.checkpoint import load_checkpoint, save_checkpoint
from unet_studio.training.events import TrainingFinished

pytestmark = pytest.mark.gui


def blind_copy(checkpoint, out):
    """The same network with its output biased so hard towards background that it never finds an object."""
    loaded = load_checkpoint(checkpoint)
    model = loaded.build_model()
    head = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        head.bias[0] = 1e4
        head.bias[1:] = -1e4
    return save_checkpoint(out, model, loaded.model_config, loaded.classes, loaded.normalization, loaded.history,
                           loaded.train_config)


def flood_copy(checkpoint, out):
    """The same network biased so hard towards the object class that every pixel is an object."""
    loaded = load_checkpoint(checkpoint)
    model = loaded.build_model()
    head = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        head.bias[0] = -1e4
        head.bias[1:] = 1e4
    return save_checkpoint(out, model, loaded.model_config, loaded.classes, loaded.normalization, loaded.history,
                           loaded.train_config)


@pytest.fixture
def qc(qtbot, tmp_path, tiny_checkpoint):
    project = labelled_project(tmp_path / "p", n_images=2)
    project.set_split("img_01", "val")
    project.add_model(tiny_checkpoint, "good", "unet", 1, 0.8)
    project.add_model(blind_copy(tiny_checkpoint, tmp_path / "blind.pt"), "blind", "unet", 1, 0.0)
    document = AnnotationDocument()
    panel = QcPanel(document)
    qtbot.addWidget(panel)
    document.set_project(project)
    return project, panel


def test_score_model_counts_labelled_pixels_only(qc):
    project, _ = qc
    images = [QcImage("img_01", project.image_path("img_01"), project.annotation_path("img_01"))]
    blind = score_model("model-2", "blind", project.model_path("model-2"), images)
    assert blind.predicts_nothing and blind.mean_dice == 0.0
    assert blind.per_class[0][0] > 0.5  # background is right everywhere it was labelled background
    good = score_model("model-1", "good", project.model_path("model-1"), images)
    assert not good.predicts_nothing and 0 <= good.per_class[1][1] <= good.per_class[1][0] <= 1


def test_warnings_name_the_worse_and_the_empty_model():
    new = ModelScores("m2", "new", {1: (0.4, 0.25)}, 0.4)
    old = ModelScores("m1", "old", {1: (0.8, 0.67)}, 0.8)
    assert len(warnings_for(new, old)) == 1 and "worse than old" in warnings_for(new, old)[0]
    assert warnings_for(old, new) == [] and warnings_for(new, None) == []
    empty = ModelScores("m3", "empty", {1: (0.0, 0.0)}, 0.0, collapsed_to=0, collapsed_name="background")
    full = ModelScores("m4", "full", {1: (0.3, 0.2)}, 0.3, collapsed_to=1, collapsed_name="cell")
    assert warnings_for(empty, None) == [
        "empty predicts every pixel of the validation images as background (no objects): "
        "label more of each class or train longer"]
    assert warnings_for(full, None) == [
        "full predicts every pixel of the validation images as cell (no background): "
        "label more of each class or train longer"]


def test_a_model_that_calls_everything_an_object_is_flagged_like_a_blind_one(qc, tmp_path, tiny_checkpoint):
    project, _ = qc
    images = [QcImage("img_01", project.image_path("img_01"), project.annotation_path("img_01"))]
    flooded = score_model("m", "flooded", flood_copy(tiny_checkpoint, tmp_path / "flood.pt"), images)
    blind = score_model("model-2", "blind", project.model_path("model-2"), images)
    assert (flooded.collapsed_to, blind.collapsed_to) == (1, 0) and flooded.mean_dice > 0
    assert [len(warnings_for(s, None)) for s in (flooded, blind)] == [1, 1]


def test_after_training_the_banner_warns_when_the_new_model_is_worse(qtbot, qc):
    project, panel = qc
    project.set_active_model("model-1")
    panel.remember_previous()
    project.set_active_model("model-2")  # as training does when it registers the new model
    event = TrainingFinished(project.model_path("model-2"), {}, False, "finished 1 epoch(s)")
    with qtbot.waitSignal(panel.qc_finished, timeout=20000) as done:
        assert panel.on_training_finished(event)
    warnings = done.args[0]
    assert len(warnings) == 2 and not panel.banner.isHidden()
    assert "(no objects)" in panel.banner.text() and "worse than good" in panel.banner.text()
    assert panel.table.rowCount() == 2 and panel.table.item(1, 0).text() == project.class_info(2).name
    assert panel.table.item(1, 1).text() == "0.000" and panel.table.item(1, 3).text() != "-"
    assert "1 validation image(s)" in panel.summary.text()


def test_a_model_alone_is_not_compared(qtbot, qc):
    project, panel = qc
    project.set_split("img_01", "train")
    with qtbot.waitSignal(panel.qc_finished, timeout=20000) as done:
        assert panel.compare("model-1")
    assert not any("worse than" in line for line in done.args[0])
    assert panel.table.item(1, 3).text() == "-"


def test_the_panel_scores_the_images_the_model_was_validated_on(qtbot, qc, tmp_path, tiny_checkpoint):
    project, panel = qc
    loaded = load_checkpoint(tiny_checkpoint)
    history = {**loaded.history, "validation_images": [project.image_path("img_00").name]}
    path = save_checkpoint(tmp_path / "v.pt", loaded.build_model(), loaded.model_config, loaded.classes,
                           loaded.normalization, history, loaded.train_config)
    record = project.add_model(path, "validated", "unet", 1, None)
    with qtbot.waitSignal(panel.qc_finished, timeout=20000):
        assert panel.compare(record.id)
    assert "the 1 image(s) it was validated on in training" in panel.summary.text()
    images, _ = panel.validation_images(["img_00.png", "gone.png"])
    assert [i.image_id for i in images] == ["img_01"], "a model validated on images no longer here: 'val' split"
