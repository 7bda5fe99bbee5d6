"""The export dialog: every image format for predictions and annotations, model export, problems one line each."""

import json

import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from tests.gui.training_helpers import labelled_project, tiny_checkpoint, with_model  # noqa: F401 (fixture)
from unet_studio.core.annotations import read_annotation
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.export_dialog import ExportDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path):
    project = labelled_project(tmp_path / "p", n_images=2)
    _, mask = make_blobs((64, 64), seed=0)
    project.save_prediction("img_00", mask)
    return project


def open_dialog(qtbot, project, ids):
    document = AnnotationDocument()
    document.set_project(project)
    dialog = ExportDialog(document, ids)
    qtbot.addWidget(dialog)
    return dialog


def run(qtbot, dialog):
    with qtbot.waitSignal(dialog.export_finished, timeout=30000) as done:
        assert dialog.start()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=5000)
    return done.args


def test_every_image_format_from_predictions(qtbot, tmp_path, project):
    dialog = open_dialog(qtbot, project, ["img_00", "img_01"])
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["masks", "instances", "overlay", "csv", "roi", "geojson", "coco"])
    written, problems = run(qtbot, dialog)
    out = tmp_path / "out"
    names = {p.name for p in written}
    assert {"img_00_mask.png", "img_00_instances.tif", "img_00_overlay.png", "img_00.csv", "img_00_rois.zip",
            "img_00.geojson", "coco_annotations.json"} <= names
    assert len(problems) == 1 and "img_01" in problems[0] and "\n" not in problems[0]  # no prediction there
    _, mask = make_blobs((64, 64), seed=0)
    assert np.array_equal(read_annotation(out / "img_00_mask.png") > 0, mask > 0)
    assert tifffile.imread(out / "img_00_instances.tif").max() >= 1
    assert len(json.loads((out / "coco_annotations.json").read_text())["annotations"]) >= 1
    assert "problem: " in dialog.report.toPlainText() and "file(s) written" in dialog.report.toPlainText()


def test_annotations_as_masks_and_the_model_as_onnx(qtbot, tmp_path, project, tiny_checkpoint):
    with_model(project, tiny_checkpoint)
    dialog = open_dialog(qtbot, project, ["img_01"])
    dialog.source.setCurrentIndex(dialog.source.findData("annotations"))
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["masks", "onnx"])
    written, problems = run(qtbot, dialog)
    assert problems == []
    assert sorted(p.name for p in written) == ["img_01_mask.png", "model-1.onnx"]
    _, mask = make_blobs((64, 64), seed=1)
    assert np.array_equal(read_annotation(tmp_path / "out" / "img_01_mask.png") > 0, mask > 0)


def test_nothing_chosen_is_refused(qtbot, project):
    dialog = open_dialog(qtbot, project, ["img_00"])
    dialog.set_formats([])
    assert not dialog.start() and "at least one format" in dialog.report.toPlainText()
    assert not dialog.checks["onnx"].isEnabled()  # no active model
