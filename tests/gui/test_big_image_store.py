"""The big-image label path without a window: ChunkedLabelBuffer over a real ChunkedLabels store (strided
reads, chunk-by-chunk patches, dirty chunks kept until saved) and the WindowPainter, which must paint exactly
what the core brush and polygon functions paint on a whole array."""

from __future__ import annotations

import numpy as np

from unet_studio.core.chunked_labels import ChunkedLabels
from unet_studio.core.painting import fill_polygon, paint_disc, stroke_segment
from unet_studio.gui.tiled_label_store import ChunkedLabelBuffer
from unet_studio.gui.tiled_painting import WindowPainter

SHAPE, CHUNK = (300, 260), 64


def make_buffer(tmp_path, labels: np.ndarray | None = None) -> ChunkedLabelBuffer:
    store = ChunkedLabels(tmp_path / "a.chunks", SHAPE, CHUNK)
    if labels is not None:
        store.write(0, 0, labels)
    return ChunkedLabelBuffer(store, SHAPE, CHUNK, store.dtype)


def random_labels(seed: int = 0) -> np.ndarray:
    labels = np.zeros(SHAPE, np.uint8)
    labels[40:200, 30:150] = np.random.default_rng(seed).integers(0, 4, (160, 120))
    return labels


def test_reads_full_and_strided_regions_and_skips_unwritten_chunks(tmp_path):
    labels = random_labels()
    buffer = make_buffer(tmp_path, labels)
    np.testing.assert_array_equal(buffer.read(10, 290, 5, 250), labels[10:290, 5:250])
    for step in (2, 3, 8):
        np.testing.assert_array_equal(buffer.read(16, 300, 0, 257, step), labels[16:300:step, 0:257:step])
    assert buffer.chunks_read == len(buffer.store.chunks_stored()) < 5 * 5  # empty chunks never read
    assert buffer.value_at(100, 100) == labels[100, 100] and buffer.value_at(-1, 0) == 0


def test_window_painter_matches_the_core_functions_on_a_whole_array(tmp_path):
    whole = random_labels(1)
    buffer = make_buffer(tmp_path, whole)
    painter = WindowPainter(buffer)
    expected = [paint_disc(whole, (63.2, 64.7), 9, 2), stroke_segment(whole, (10, 10), (250, 200), 6, 3, True),
                fill_polygon(whole, [(100, 100), (190, 120), (150, 250)], 1)]
    got = [painter.disc((63.2, 64.7), 9, 2, False), painter.segment((10, 10), (250, 200), 6, 3, True),
           painter.polygon([(100, 100), (190, 120), (150, 250)], 1, False)]
    np.testing.assert_array_equal(buffer.read(0, SHAPE[0], 0, SHAPE[1]), whole)
    for want, patch in zip(expected, got):
        assert want.n_pixels == patch.n_pixels
        assert set(zip(*want._index())) == set(zip(*patch._index()))


def test_patches_dirty_only_their_chunks_and_undo_restores(tmp_path):
    labels = random_labels(2)
    buffer = make_buffer(tmp_path, labels)
    patch = WindowPainter(buffer).disc((64, 64), 5, 3, False)  # the corner of four chunks
    assert buffer.dirty == {(0, 0), (0, 1), (1, 0), (1, 1)}
    buffer.apply(patch, new=False)
    np.testing.assert_array_equal(buffer.read(0, 128, 0, 128), labels[:128, :128])


def test_dirty_chunks_stay_until_saved_and_come_back_when_a_save_fails(tmp_path):
    buffer = make_buffer(tmp_path)
    WindowPainter(buffer).disc((10, 10), 4, 2, False)
    taken = buffer.take_dirty()
    assert list(taken) == [(0, 0)] and buffer.dirty == frozenset()
    buffer._clean_bytes = 0  # nothing unedited may stay in memory
    buffer.give_back(taken)  # the save failed
    assert buffer.dirty == {(0, 0)} and buffer.value_at(10, 10) == 2
    for (cy, cx), array in buffer.take_dirty().items():
        buffer.store.write(cy * CHUNK, cx * CHUNK, array)
    buffer.saved([(0, 0)])
    assert buffer.nbytes == 0  # dropped once on disk, and read back from there
    assert buffer.value_at(10, 10) == 2 and buffer.chunks_read == 1


def test_thumbnail_of_a_big_image_comes_from_its_coarsest_level(tmp_path):
    from tests.gui.big_image_helpers import write_ome_zarr
    from unet_studio.gui.thumbnails import make_thumbnail

    folder = write_ome_zarr(tmp_path / "a.ome.zarr", size=512, n_levels=3, chunk=128)
    thumbnail = make_thumbnail(folder, 64)
    assert thumbnail.shape == (64, 64) and thumbnail.dtype == np.uint8 and thumbnail.std() > 0
