"""bioimage.io packages in the app: the export dialog writes one, the Models panel's "Add model..." takes a
checkpoint, one of our packages (trainable) or a foreign package (predict only, said so), and the
prediction worker runs a package."""

import zipfile

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.gui.test_export_dialog import open_dialog, project, run  # noqa: F401 (fixture)
from tests.gui.training_helpers import tiny_checkpoint, with_model  # noqa: F401 (fixture)
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.prediction_worker import PredictionJob, PredictionWorker
from unet_studio.gui.workers import start_worker, wait_for
from unet_studio.gui.models_panel import ModelsPanel
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.package_checkpoint import PREDICT_ONLY_ARCH

pytest.importorskip("bioimageio.spec", reason="bioimageio.spec is not installed")
pytestmark = [pytest.mark.gui, pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def test_dialog_exports_a_package_and_the_panel_adds_it_back(qtbot, tmp_path, project, tiny_checkpoint,
                                                           monkeypatch):
    with_model(project, tiny_checkpoint)
    dialog = open_dialog(qtbot, project, ["img_00"])
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["bioimageio"])
    written, problems = run(qtbot, dialog)
    assert problems == [] and [p.name for p in written] == ["model-1.bioimageio.zip"]
    package = written[0]

    document = AnnotationDocument()
    panel = ModelsPanel(document)
    qtbot.addWidget(panel)
    document.set_project(project)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(package), ""))
    assert panel.add_model()
    added = project.models[-1]
    assert added.architecture == "unet" and project.model_path(added.id).suffix == ".zip"
    assert load_checkpoint(project.model_path(added.id)).model_config.depth >= 1  # ours: it fine-tunes
    assert panel.message.text() == "added model-1.bioimageio.zip"

    foreign = tmp_path / "zoo.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(foreign, "w") as out:
        for name in source.namelist():
            if name != "unet_studio.json":
                out.writestr(name, source.read(name))
    assert panel.add_model(foreign)
    assert project.models[-1].architecture == PREDICT_ONLY_ARCH
    assert "it predicts but cannot be fine-tuned here" in panel.message.text()
    assert panel.table.item(panel.table.rowCount() - 1, 3).text() == PREDICT_ONLY_ARCH

    # the foreign package predicts in the prediction worker as a checkpoint does
    image = project.image_path("img_00")
    worker = PredictionWorker(PredictionJob(project.model_path(project.models[-1].id),
                                            (("img_00", image, (0,)),), device="cpu"))
    results = []
    worker.image_predicted.connect(lambda image_id, plane, mask, probs: results.append((image_id, mask.shape)))
    with qtbot.waitSignal(worker.finished, timeout=30000):
        thread = start_worker(worker)
    assert wait_for(thread) and results == [("img_00", (64, 64))]

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    assert not panel.add_model(broken)
    assert panel.message.text().startswith(str(broken)) and "\n" not in panel.message.text()
