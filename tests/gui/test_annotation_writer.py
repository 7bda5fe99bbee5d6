"""Autosave off the GUI thread: one writer thread encodes and writes, coalescing queued saves of an image;
save_now (image switch, close, quit) waits until the file is on disk; a failed write is one line."""

import threading

import numpy as np
import pytest

from tests.gui.helpers import drag
from unet_studio.core import plane_labels
from unet_studio.core.annotations import read_annotation
from unet_studio.core.errors import StudioError
from unet_studio.core.project import Project
from unet_studio.gui.annotation_writer import AnnotationWriter, LabelRegion

pytestmark = pytest.mark.gui


def on_disk(folder, image_id):
    path = Project.open(folder).annotation_path(image_id)
    return None if path is None else read_annotation(path)


def test_autosave_encodes_and_writes_on_the_writer_thread(window, qtbot, project, monkeypatch):
    threads = []
    real = plane_labels.write_annotation

    def recording(stem, labels):
        threads.append(threading.current_thread().name)
        return real(stem, labels)

    monkeypatch.setattr(plane_labels, "write_annotation", recording)
    doc = window.document
    drag(window.canvas, [(10, 10), (10, 40)])
    qtbot.waitUntil(lambda: on_disk(project.folder, doc.image_id) is not None, timeout=5000)
    assert threads == ["annotation-writer"]
    np.testing.assert_array_equal(on_disk(project.folder, doc.image_id), doc.labels)
    qtbot.waitUntil(lambda: doc.record(doc.image_id).status == "partial", timeout=3000)
    assert Project.open(project.folder).image(doc.image_id).status == "partial"


def test_queued_saves_of_one_image_are_coalesced_into_one_write(qtbot, tmp_path, monkeypatch):
    release, calls = threading.Event(), []
    real = plane_labels.write_annotation

    def slow_write(stem, labels):
        calls.append(labels.copy())
        release.wait(10)
        return real(stem, labels)

    monkeypatch.setattr(plane_labels, "write_annotation", slow_write)
    writer = AnnotationWriter()
    writer.begin("a", tmp_path / "annotations" / "a", np.zeros((20, 30), np.uint8))
    writer.submit("a", [LabelRegion(0, 0, np.full((2, 2), 2, np.uint8))])
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5000)  # the first write is busy...
    for value in (3, 4, 5):  # ...while three more saves queue up
        writer.submit("a", [LabelRegion(10, 10 + value, np.full((1, 1), value, np.uint8))])
    release.set()
    assert writer.flush(10)
    assert len(calls) == 2  # one write for the three queued saves
    written = read_annotation(tmp_path / "annotations" / "a.png")
    assert written[0, 0] == 2 and [written[10, 10 + v] for v in (3, 4, 5)] == [3, 4, 5]
    assert [r.status for r in writer.results()] == ["partial", "partial"]


def test_switching_image_right_after_a_stroke_flushes_it_to_disk(window, project):
    doc = window.document
    first = doc.image_id
    drag(window.canvas, [(20, 20), (20, 50)])
    painted = doc.labels.copy()
    assert painted.any()
    assert doc.set_image(project.images[1].id)  # long before the 0.6 s autosave
    np.testing.assert_array_equal(on_disk(project.folder, first), painted)


def test_a_failed_write_is_one_line_and_the_labels_stay_unsaved(window, qtbot, monkeypatch):
    def failing(stem, labels):
        raise StudioError(f"{stem}.png", "cannot write (disk full)")

    monkeypatch.setattr(plane_labels, "write_annotation", failing)
    doc = window.document
    errors = []
    doc.error_raised.connect(errors.append)
    drag(window.canvas, [(30, 30)])
    assert not doc.save_now()
    assert errors and errors[-1].endswith("cannot write (disk full)") and "\n" not in errors[-1]
    assert doc.is_dirty and "*" in window.windowTitle()
    monkeypatch.undo()
    assert doc.save_now() and not doc.is_dirty  # the next save writes everything
