"""Chunked labels: region writes touch only their chunks, each written atomically (a killed writer leaves the
old chunk readable), the status comes from a small index, and a project keeps big images' size and store."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from unet_studio.core.annotations import label_status
from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.core.errors import AnnotationError, ProjectError
from unet_studio.core.project import Project


def test_writes_cross_chunk_borders_and_read_back(tmp_path):
    store = ChunkedLabels(tmp_path / "a.chunks", (100, 70), chunk=32)
    assert store.grid == (4, 3)
    truth = np.zeros((100, 70), np.uint8)
    patch = np.random.default_rng(0).integers(1, 4, (40, 30), dtype=np.uint8)
    assert store.write(20, 25, patch) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    truth[20:60, 25:55] = patch
    edge = np.full((10, 10), 2, np.uint8)
    assert store.write(90, 60, edge) == [(2, 1), (2, 2), (3, 1), (3, 2)]
    truth[90:100, 60:70] = edge
    np.testing.assert_array_equal(store.read(0, 100, 0, 70), truth)
    np.testing.assert_array_equal(store.read(15, 64, 30, 69), truth[15:64, 30:69])
    assert store.read(95, 200, 65, 200).shape == (5, 5)  # clipped at the edge
    assert store.chunks_touched() == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1), (2, 2), (3, 1), (3, 2)]
    reopened = ChunkedLabels(tmp_path / "a.chunks", (100, 70), chunk=32)
    np.testing.assert_array_equal(reopened.read(0, 100, 0, 70), truth)
    assert reopened.chunks_touched() == []
    assert np.load(reopened.chunk_path(3, 2)).shape == (4, 6)  # edge chunks are clipped


def test_a_chunk_erased_to_zero_is_deleted(tmp_path):
    store = ChunkedLabels(tmp_path / "b.chunks", (64, 64), chunk=32)
    store.write(0, 0, np.full((10, 10), 2, np.uint8))
    assert store.chunks_stored() == [(0, 0)]
    store.write(0, 0, np.zeros((10, 10), np.uint8))
    assert store.chunks_stored() == [] and not store.chunk_path(0, 0).exists()
    assert store.status() == "unlabelled"


def test_status_matches_label_status_and_reads_only_chunks_changed_behind_the_index(tmp_path, monkeypatch):
    store = ChunkedLabels(tmp_path / "c.chunks", (64, 96), chunk=32)
    assert store.status() == "unlabelled"
    store.write(0, 0, np.full((64, 64), 1, np.uint8))
    assert store.status() == "partial" == label_status(store.read(0, 64, 0, 96))
    store.write(0, 64, np.full((64, 32), 2, np.uint8))
    reopened = ChunkedLabels(tmp_path / "c.chunks", (64, 96), chunk=32)
    with monkeypatch.context() as patch:
        patch.setattr(ChunkedLabels, "_read_chunk", lambda *a: pytest.fail("status read a chunk"))
        assert reopened.status() == "labelled"
    # A chunk rewritten by hand (as by a writer killed before its index update) is read again.
    block = np.full((32, 32), 2, np.uint8)
    block[0, 0] = 0
    np.save(reopened.chunk_path(1, 2), block)
    assert ChunkedLabels(tmp_path / "c.chunks", (64, 96), chunk=32).status() == "partial"


def test_a_failed_chunk_write_leaves_the_old_chunk(tmp_path, monkeypatch):
    store = ChunkedLabels(tmp_path / "d.chunks", (64, 64), chunk=32)
    store.write(0, 0, np.full((32, 32), 2, np.uint8))

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ProjectError, match="disk full"):
        store.write(0, 0, np.full((32, 32), 3, np.uint8))
    monkeypatch.undo()
    np.testing.assert_array_equal(store.read(0, 32, 0, 32), 2)
    assert [p.name for p in (tmp_path / "d.chunks").iterdir() if ".tmp-" in p.name] == []


_WRITER = """
import sys
import numpy as np
from unet_studio.core.chunked_labels import ChunkedLabels
store = ChunkedLabels(sys.argv[1], (2048, 2048), chunk=2048)
value = 2
while True:
    store.write(0, 0, np.full((2048, 2048), value, np.uint8))
    print(value, flush=True)
    value = 5 - value
"""


def test_a_writer_killed_mid_write_leaves_a_whole_chunk(tmp_path):
    """SIGKILL a process rewriting one 4 MB chunk in a loop: the chunk left is all 2 or all 3, never mixed."""
    folder = tmp_path / "e.chunks"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(folder)], stdout=subprocess.PIPE, env=env)
    try:
        for _ in range(3):  # a few whole writes, then kill it at some point inside the next ones
            assert writer.stdout.readline(), "the writer died"
        time.sleep(0.013)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    store = ChunkedLabels(folder, (2048, 2048), chunk=2048)
    values = np.unique(store.read(0, 2048, 0, 2048))
    assert values.tolist() in ([2], [3])
    assert store.status() == "labelled"


def test_geometry_and_values_are_checked(tmp_path):
    store = ChunkedLabels(tmp_path / "f.chunks", (50, 50), chunk=16)
    with pytest.raises(AnnotationError, match="does not fit the image 50 x 50"):
        store.write(45, 0, np.ones((10, 10), np.uint8))
    with pytest.raises(AnnotationError, match="do not fit uint8"):
        store.write(0, 0, np.full((4, 4), 300))
    store.write(0, 0, np.ones((4, 4), np.uint8))
    with pytest.raises(AnnotationError, match="index.json: chunked labels are \\[50, 50\\] in chunks of 16"):
        ChunkedLabels(tmp_path / "f.chunks", (60, 50), chunk=16)
    wide = ChunkedLabels(tmp_path / "g.chunks", (20, 20), chunk=16, dtype="uint16")
    wide.write(0, 0, np.full((20, 20), 300, np.uint16))
    assert ChunkedLabels(tmp_path / "g.chunks", (20, 20), chunk=16).read(0, 20, 0, 20).max() == 300


def _empty_big_zarr(path, height, width):
    """An OME-Zarr 0.5 image of (height, width) with no chunk written: metadata only, a few KB on disk."""
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.create_array("0", shape=(height, width), dtype="uint16", chunks=(1024, 1024))
    axes = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space", "unit": "micrometer"}]
    datasets = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [0.5, 0.5]}]}]
    group.attrs.update({"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}})
    return path


def test_project_keeps_big_images_with_their_size_and_chunked_labels(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    big = _empty_big_zarr(images / "slide.ome.zarr", 40_000, 30_000)  # 1.2e9 pixels: over MAX_PIXELS
    project = Project.open_or_create(images)
    (record,) = project.images
    assert (record.id, record.height, record.width) == ("slide", 40_000, 30_000)
    assert project.image_path("slide") == big and project.is_big_image("slide")
    labels = project.chunked_labels("slide")
    assert labels.folder == images / "annotations" / "slide.chunks" and labels.shape == (40_000, 30_000)
    labels.write(39_990, 29_990, np.full((10, 10), 2, np.uint8))
    assert project.refresh_chunked_status("slide", labels) == "partial"
    reopened = Project.open(images)
    assert reopened.image("slide").status == "partial"
    assert reopened.chunked_labels("slide").read(39_995, 40_000, 29_995, 30_000).tolist() == [[2] * 5] * 5
