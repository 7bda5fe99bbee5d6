"""After training, a model worse than the active one on the same validation images does not become active
(issue 19 item 12): the quality panel says so and offers a one-click switch."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from tests.gui.training_helpers import TINY, labelled_project, tiny_checkpoint  # noqa: F401 (fixture)
from tests.gui.test_qc import blind_copy
from unet_studio.training.api import register_model
from unet_studio.training.events import TrainingFinished

pytestmark = pytest.mark.gui
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def project(tmp_path, tiny_checkpoint):
    """Labelled blobs, img_02 for validation, the tiny model 'good' active and a blind copy at hand."""
    project = labelled_project(tmp_path / "project", n_images=3)
    project.set_split("img_02", "val")
    good = project.add_model(tiny_checkpoint, "good", "unet", 2, None)
    project.set_active_model(good.id)
    blind_copy(tiny_checkpoint, tmp_path / "blind.pt")
    return project


def active_mark_row(models_panel) -> str:
    """Name of the model the Models table marks active."""
    table = models_panel.table
    return next(table.item(row, 1).text() for row in range(table.rowCount()) if table.item(row, 0).text())


def test_a_worse_new_model_is_kept_but_not_made_active(window, docks, tmp_path, qtbot):
    qc, project = docks.qc, window.document.project
    docks.training.training_started.emit()  # what the panel says when a run starts
    path = register_model(project, tmp_path / "blind.pt", "blind run")  # registered as the run ends
    event = TrainingFinished(path, {}, False, "finished 1 epoch(s)")
    with qtbot.waitSignal(qc.qc_finished, timeout=30000):
        docks.training.training_finished.emit(event)
    assert project.model(project.active_model).name == "good"
    assert "good stays the active model: blind run is worse" in qc.choice_label.text()
    assert "worse" in qc.banner.text() and not qc.banner.isHidden()
    assert not docks.docks["quality"].visibleRegion().isEmpty()  # raised over the Models tab
    assert docks.docks["models"].visibleRegion().isEmpty()
    assert active_mark_row(docks.models) == "good"
    assert "good stays the active model" in window.statusBar().currentMessage()
    assert qc.switch_button.isVisible() and qc.switch_button.text() == "Use blind run instead"
    qtbot.mouseClick(qc.switch_button, LEFT)  # the one-click switch
    assert project.model(project.active_model).name == "blind run"
    assert active_mark_row(docks.models) == "blind run" and qc.switch_button.text() == "Use good instead"


def test_a_real_run_better_than_the_active_model_becomes_active(window, docks, tmp_path, qtbot):
    project = window.document.project
    blind = project.add_model(tmp_path / "blind.pt", "blind", "unet", 2, None)
    project.set_active_model(blind.id)
    docks.models.refresh()
    docks.training.form.set_settings(replace(TINY, limit="epochs", epochs=1))
    active_when_run_ended = []  # read in the slot, not after it: the check may finish within one event batch
    docks.training.training_finished.connect(
        lambda _event: active_when_run_ended.append(project.model(project.active_model).name))
    with qtbot.waitSignal(docks.qc.qc_finished, timeout=60000):
        qtbot.mouseClick(docks.training.train_button, LEFT)
    assert active_when_run_ended == ["blind"]  # not active before it is checked
    new = project.models[-1]
    assert project.active_model == new.id and active_mark_row(docks.models) == new.name
    assert "is now the active model: not worse than blind" in docks.qc.choice_label.text()
    qtbot.mouseClick(docks.qc.switch_button, LEFT)
    assert project.active_model == blind.id
