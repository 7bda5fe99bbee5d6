"""The export dialog: every image format for predictions and annotations, model export, problems one line each."""

import json

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt

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


def speckled_mask(seed: int) -> tuple[np.ndarray, int]:
    """A blob prediction plus five specks of 1-9 px, and how many objects are at least 15 px."""
    _, mask = make_blobs((64, 64), n=3, radius=6, seed=seed)
    for n, (row, col) in enumerate([(1, 1), (1, 60), (60, 1), (60, 60), (32, 1)]):
        mask[row:row + 1 + n % 3, col:col + 1 + n % 3] = 1
    from unet_studio.export.objects import semantic_to_instances
    from unet_studio.inference.postprocess import clean_mask

    return mask, int(semantic_to_instances(clean_mask(mask, 15)).max())


def test_all_images_from_the_window_leave_out_specks(qtbot, tmp_path, window):
    """File > Export with one image selected: "All images" covers every predicted image, says how many,
    and the objects under 15 px in the predictions are left out as `predict --instances` does."""
    from unet_studio.gui.training_docks import open_export_dialog

    project = window.document.project
    expected = {}
    for i, record in enumerate(project.images[:2]):
        mask, expected[record.id] = speckled_mask(i)
        project.save_prediction(record.id, mask)
    dialog = open_export_dialog(window)
    qtbot.addWidget(dialog)
    assert dialog.selected_radio.isChecked() and dialog.selected_radio.text() == "Selected images (1)"
    assert dialog.summary.text() == "1 of 1 image(s) will be exported"
    dialog.source.setCurrentIndex(dialog.source.findData("annotations"))
    assert dialog.all_radio.text() == "All images (2)"
    qtbot.mouseClick(dialog.all_radio, Qt.MouseButton.LeftButton)
    assert dialog.all_radio.isChecked() and dialog.summary.text() == "2 of 2 image(s) will be exported"
    dialog.source.setCurrentIndex(dialog.source.findData("predictions"))
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["instances", "geojson"])
    with qtbot.waitSignal(dialog.export_finished, timeout=30000) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    written, problems = done.args
    assert problems == [] and len(written) == 4
    for image_id, count in expected.items():
        instances = tifffile.imread(tmp_path / "out" / f"{image_id}_instances.tif")
        sizes = np.bincount(instances.ravel())[1:]
        assert len(sizes) == count and sizes.min() >= 15
        features = json.loads((tmp_path / "out" / f"{image_id}.geojson").read_text())["features"]
        assert len(features) == count


def test_minimum_size_zero_keeps_every_speck(qtbot, tmp_path, project):
    mask, kept = speckled_mask(0)
    project.save_prediction("img_00", mask)
    dialog = open_dialog(qtbot, project, ["img_00", "img_01"])
    assert dialog.summary.text() == "1 of 2 image(s) will be exported (1 without a prediction)"
    dialog.min_size.setValue(0)
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["instances"])
    run(qtbot, dialog)
    assert tifffile.imread(tmp_path / "out" / "img_00_instances.tif").max() == kept + 5
