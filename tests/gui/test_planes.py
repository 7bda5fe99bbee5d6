"""Stacks in the window: each plane its own labels and undo, keys and the slider move planes, the browser
counts labelled planes, and the GUI predicts the plane shown (every plane of the other stacks)."""

import json

import numpy as np
import pytest
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.conftest import make_blobs
from tests.gui.helpers import drag
from tests.gui.training_helpers import tiny_checkpoint, with_model  # noqa: F401 (fixture)
from unet_studio.core.annotations import mask_to_annotation, read_annotation, write_annotation
from unet_studio.core.project import Project
from unet_studio.gui.dataset_model import STATUS
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.export_dialog import ExportDialog
from unet_studio.gui.main_window import MainWindow
from unet_studio.gui.prediction_panel import PredictionPanel
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.qc import QcPanel
from unet_studio.gui.review_tools import ReviewController
from unet_studio.gui.training_settings import LabelCensus
from unet_studio.inference.scoring import score_model

pytestmark = pytest.mark.gui
PLANES = 4


def stack_project(folder, n_stacks: int = 1) -> Project:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n_stacks):
        planes = np.stack([make_blobs((64, 64), seed=10 * i + p)[0] for p in range(PLANES)])
        paths.append(folder / f"stack_{i}.tif")
        tifffile.imwrite(paths[-1], planes, photometric="minisblack")
    return Project.create(folder, paths)


@pytest.fixture
def project(tmp_path):
    """The conftest `window` opens this project: one stack."""
    return stack_project(tmp_path / "project")


@pytest.fixture
def stack_window(window):
    return window


def _key(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget(), key, modifier)


def test_keys_and_slider_move_through_the_planes(stack_window, qtbot):
    doc, slider = stack_window.document, stack_window.contrast.plane
    assert doc.plane == 0 and slider.maximum() == PLANES - 1 and not slider.isHidden()
    _key(qtbot, ".")
    assert doc.plane == 1 and slider.value() == 1
    assert stack_window.windowTitle().startswith(f"stack_0.tif [plane 2/{PLANES}]")
    _key(qtbot, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert doc.plane == 2 and doc.image_id == "stack_0"  # Ctrl+PgDown moves planes, not images
    _key(qtbot, ",")
    _key(qtbot, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert doc.plane == 0
    _key(qtbot, ",")
    assert doc.plane == 0  # the first plane stays
    slider.setValue(3)
    assert doc.plane == 3 and doc.image.plane == 3


def test_each_plane_has_its_own_labels_and_undo(stack_window, qtbot):
    win, doc = stack_window, stack_window.document
    drag(win.canvas, [(10, 10), (10, 30)])
    first = doc.labels.copy()
    assert first.any()
    _key(qtbot, ".")
    assert doc.plane == 1 and not doc.labels.any()  # plane 1 does not show plane 0's labels
    drag(win.canvas, [(40, 10), (40, 30)])
    second = doc.labels.copy()
    win.actions["undoAction"].trigger()
    assert not doc.labels.any()
    win.actions["redoAction"].trigger()
    np.testing.assert_array_equal(doc.labels, second)
    _key(qtbot, ",")
    np.testing.assert_array_equal(doc.labels, first)  # plane 0 kept its stroke and its history
    win.actions["undoAction"].trigger()
    assert not doc.labels.any()
    assert doc.save_now()
    project = doc.project
    assert not project.load_annotation("stack_0", 0).any()
    np.testing.assert_array_equal(project.load_annotation("stack_0", 1), second)
    _key(qtbot, ".")
    win.actions["undoAction"].trigger()  # plane 1's history survived the trip to plane 0 and back
    assert not doc.labels.any()


def test_the_browser_counts_labelled_planes(stack_window, qtbot):
    win, doc = stack_window, stack_window.document
    browser = win.browser
    assert browser.proxy.index(0, STATUS).data() == f"unlabelled ({PLANES} planes)"
    drag(win.canvas, [(10, 10), (10, 30)])
    _key(qtbot, ".")
    drag(win.canvas, [(20, 10), (20, 30)])
    assert doc.save_now()
    qtbot.waitUntil(lambda: browser.proxy.index(0, STATUS).data() == f"partial (2/{PLANES} planes labelled)")
    assert doc.project.image("stack_0").split == "train"  # the split stays per image


def test_gui_predicts_the_shown_plane_and_every_plane_of_other_stacks(qtbot, tmp_path, tiny_checkpoint):
    project = with_model(stack_project(tmp_path / "p", n_stacks=2), tiny_checkpoint)
    document = AnnotationDocument()
    state = PredictionState(document)
    panel = PredictionPanel(document, state, ReviewController(document, state),
                            selection=lambda: ["stack_0", "stack_1"])
    qtbot.addWidget(panel)
    document.set_project(project)
    document.set_image("stack_0", 2)
    panel.scope.setCurrentIndex(panel.scope.findData("selected"))
    with qtbot.waitSignal(panel.prediction_finished, timeout=30000):
        assert panel.predict()
    shown = [p for p in range(PLANES) if project.load_prediction("stack_0", p) is not None]
    assert shown == [2] and state.shows("stack_0", 2) and state.mask is not None
    assert all(project.load_prediction("stack_1", p) is not None for p in range(PLANES))
    assert "2 image(s) predicted" in panel.message.text()
    document.set_plane(1)
    assert state.mask is None  # plane 1 of stack_0 has no prediction yet
    document.set_plane(2)
    np.testing.assert_array_equal(state.mask, project.load_prediction("stack_0", 2))


def test_export_writes_each_labelled_or_predicted_plane(qtbot, tmp_path):
    project = stack_project(tmp_path / "p")
    masks = [make_blobs((64, 64), seed=p)[1] for p in range(PLANES)]
    project.save_annotation("stack_0", mask_to_annotation(masks[1]), plane=1)
    project.save_annotation("stack_0", mask_to_annotation(masks[3]), plane=3)
    project.save_prediction("stack_0", masks[2], plane=2)
    document = AnnotationDocument()
    document.set_project(project)
    dialog = ExportDialog(document, ["stack_0"])
    qtbot.addWidget(dialog)
    dialog.source.setCurrentIndex(dialog.source.findData("annotations"))
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["masks", "csv"])
    with qtbot.waitSignal(dialog.export_finished, timeout=30000) as done:
        assert dialog.start()
    written, problems = done.args
    assert problems == []
    assert sorted(p.name for p in written) == ["stack_0.plane-1.csv", "stack_0.plane-1_mask.png",
                                               "stack_0.plane-3.csv", "stack_0.plane-3_mask.png"]
    np.testing.assert_array_equal(read_annotation(tmp_path / "out" / "stack_0.plane-3_mask.png") > 0, masks[3] > 0)
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=5000)
    dialog.source.setCurrentIndex(dialog.source.findData("predictions"))
    assert [(s.plane, s.label_page) for s in dialog.sources()] == [(2, None)]


def test_the_train_census_and_the_quality_check_read_every_plane(qtbot, tmp_path, tiny_checkpoint):
    project = with_model(stack_project(tmp_path / "p"), tiny_checkpoint)
    census = LabelCensus()
    assert census.blocker(project) is not None  # nothing labelled yet
    project.save_annotation("stack_0", mask_to_annotation(make_blobs((64, 64), seed=2)[1]), plane=2)
    assert census.blocker(project) is None  # plane 2 holds background and objects
    document = AnnotationDocument()
    document.set_project(project)
    panel = QcPanel(document)
    qtbot.addWidget(panel)
    images, note = panel.validation_images(["stack_0.tif [plane 2]"])
    assert [(i.plane, i.name) for i in images] == [(2, "stack_0.tif [plane 2]")] and "validated on" in note
    scores = score_model("m", "m", project.model_path(project.active_model), images)
    assert scores.problems == () and scores.mean_dice is not None


def test_an_old_project_opens_with_its_shared_labels_on_plane_0(qtbot, tmp_path, settings):
    project = stack_project(tmp_path / "project")
    manifest = json.loads(project.manifest_path.read_text())
    manifest["images"][0].pop("planes")  # made before planes were recorded
    project.manifest_path.write_text(json.dumps(manifest))
    shared = mask_to_annotation(make_blobs((64, 64), seed=5)[1])
    write_annotation(project.folder / "annotations" / "stack_0", shared)  # the old shared 2-D annotation
    win = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(project.folder), win.last_error
    qtbot.waitUntil(lambda: win.document.image_id is not None)
    np.testing.assert_array_equal(win.document.labels, shared)
    assert win.document.step_plane(1) and not win.document.labels.any()
    win.close()
