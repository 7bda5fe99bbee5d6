"""The instance layer on disk: autosaved with the labels by the writer thread, reloaded with the image,
undone on an image no longer shown, filled by the GUI import; semantic labels unchanged by it."""

import numpy as np
import pytest
import tifffile
from PySide6.QtWidgets import QInputDialog, QMessageBox

from tests.gui.helpers import drag
from unet_studio.core.project import Project
from unet_studio.gui import dialogs
from unet_studio.gui.annotation_writer import AnnotationWriter, LabelRegion

pytestmark = pytest.mark.gui


def _paint_objects(window, qtbot):
    qtbot.keyClick(window.canvas, "m")
    window.tools.set_brush_size(5)
    drag(window.canvas, [(10, 5), (10, 30)])
    drag(window.canvas, [(30, 5), (30, 30)])


def test_autosave_writes_the_instance_file_and_it_reloads(window, qtbot):
    doc = window.document
    first = doc.image_id
    path = doc.project.instances_path(first)
    _paint_objects(window, qtbot)
    qtbot.waitUntil(lambda: path.is_file(), timeout=5000)  # the autosave timer, then the writer thread
    assert doc.save_now()
    painted = doc.instances.ids.copy()
    np.testing.assert_array_equal(Project.open(doc.project.folder).load_instances(first), painted)
    window.browser.step(1)
    assert doc.image_id != first and doc.instances.ids is None
    window.browser.step(-1)
    assert doc.image_id == first
    np.testing.assert_array_equal(doc.instances.ids, painted)
    drag(window.canvas, [(50, 5), (50, 30)])
    assert doc.instances.ids[50, 10] == 3  # new ids continue after the reloaded ones


def test_erasing_every_object_removes_the_file(window, qtbot):
    doc = window.document
    path = doc.project.instances_path(doc.image_id)
    _paint_objects(window, qtbot)
    assert doc.save_now() and path.is_file()
    qtbot.keyClick(window.canvas, "e")
    window.tools.set_brush_size(20)
    drag(window.canvas, [(10, 0), (10, 40), (30, 40), (30, 0)])
    assert doc.save_now()
    assert not doc.labels.any() and not path.exists()


def test_undo_on_an_image_no_longer_shown_edits_both_files(window, qtbot):
    doc = window.document
    first = doc.image_id
    _paint_objects(window, qtbot)
    window.browser.step(1)
    stack = doc.history(first)
    stack.undo()  # the second object, on disk
    ids = doc.project.load_instances(first)
    assert set(np.unique(ids)) == {0, 1} and not doc.project.load_annotation(first)[30].any()
    stack.undo()
    assert doc.project.load_instances(first) is None
    stack.redo()
    assert doc.project.load_instances(first)[10, 10] == 1


def test_objects_change_no_semantic_label(window, qtbot):
    """The same strokes with the class brush and with the object brush give the same class annotation."""
    doc = window.document
    strokes = ([(10, 5), (10, 30)], [(12, 20), (40, 20)], [(50, 50)])
    window.tools.set_brush_size(5)
    for stroke in strokes:
        drag(window.canvas, stroke)
    with_brush = doc.labels.copy()
    window.browser.step(1)
    qtbot.keyClick(window.canvas, "m")
    for stroke in strokes:
        drag(window.canvas, stroke)
    np.testing.assert_array_equal(doc.labels, with_brush)
    assert doc.save_now()
    np.testing.assert_array_equal(doc.project.load_annotation(doc.image_id), with_brush)
    assert doc.instances.ids.max() == 3


def test_gui_import_of_instances_fills_the_shown_layer(window, tmp_path, monkeypatch):
    doc = window.document
    folder = tmp_path / "inst"
    folder.mkdir()
    inst = np.zeros(doc.labels.shape, np.uint16)
    inst[5:15, 5:15], inst[15:25, 5:15] = 40, 41  # touching objects
    tifffile.imwrite(folder / f"{doc.image_id}.tif", inst)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a: str(folder))
    kind = next(label for label, value in dialogs.IMPORT_KINDS.items() if value == "instances")
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (kind, True))
    monkeypatch.setattr(QMessageBox, "information", lambda *a: None)
    window.actions["importLabelsAction"].trigger()
    ids = doc.instances.ids
    assert ids[10, 10] != ids[20, 10] and ids[10, 10] > 0 and not ids[30:].any()
    assert window.canvas.objects.buffer[14, 10] != 0 and window.canvas.objects.buffer[15, 10] != 0


def test_writer_writes_object_ids_only_on_object_pixels(tmp_path):
    writer = AnnotationWriter()
    labels = np.zeros((8, 8), np.uint8)
    writer.begin("a", tmp_path / "annotations" / "a", labels, tmp_path / "instances" / "a.tif")
    ids = np.full((2, 8), 70000, np.uint32)  # past uint16: the writer's copy widens
    writer.submit("a", [LabelRegion(0, 0, np.full((1, 8), 2, np.uint8))], 1, [LabelRegion(0, 0, ids)])
    assert writer.flush(10)
    assert [r.error for r in writer.results()] == [None]
    written = tifffile.imread(tmp_path / "instances" / "a.tif")
    assert written.dtype == np.uint32 and (written[0] == 70000).all() and not written[1:].any()


def test_writer_rewrites_the_instance_file_only_when_a_save_touches_an_object(tmp_path, monkeypatch):
    from unet_studio.gui import annotation_writer

    writes = []
    real = annotation_writer.write_instances
    monkeypatch.setattr(annotation_writer, "write_instances", lambda path, ids: writes.append(path) or real(path, ids))
    labels = np.zeros((8, 8), np.uint8)
    labels[0] = 2
    ids = np.zeros((8, 8), np.uint16)
    ids[0] = 3
    writer = AnnotationWriter()
    path = tmp_path / "instances" / "a.tif"
    writer.begin("a", tmp_path / "annotations" / "a", labels, path, ids)
    writer.submit("a", [LabelRegion(7, 0, np.full((1, 8), 2, np.uint8))], 1)  # away from the object
    assert writer.flush(10) and writes == []
    writer.submit("a", [LabelRegion(0, 0, np.full((1, 4), 1, np.uint8))], 2)  # half the object made background
    assert writer.flush(10) and len(writes) == 1
    assert [r.error for r in writer.results()] == [None, None]
    written = tifffile.imread(path)
    assert not written[0, :4].any() and (written[0, 4:] == 3).all() and not written[7].any()
