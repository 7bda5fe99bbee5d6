"""Streamed prediction of a lazy image into an OME-Zarr label image: the same mask as whole-image prediction,
instances the same partition with unique ids (objects crossing chunk borders merged, no seams), the input
never written, stop leaves nothing, and `predict --images DIR` picks OME-Zarr folders."""

import hashlib
import threading

import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from tests.inference.test_predictor import CLASSES, NORMALIZATION, tiny
from unet_studio.cli.main import main
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.predictor import Predictor
from unet_studio.inference.stream import stream_predict
from unet_studio.io.ome_zarr import open_multiscale
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr
from unet_studio.models.checkpoint import save_checkpoint

pytest.importorskip("zarr")
CONFIG = PredictConfig(64, 16, precision="fp32")


@pytest.fixture
def scene(tmp_path):
    """A 150 x 130 uint16 blob image as an OME-Zarr in 32-pixel chunks, and its pixels."""
    image, _ = make_blobs((150, 130), n=25, radius=7, seed=3, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "scene.tif", image)
    return convert_to_ome_zarr(tmp_path / "scene.tif", tmp_path / "in" / "scene.ome.zarr", chunk=32), image


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _ragged_predictor(image: np.ndarray) -> Predictor:
    """An untrained tiny network with its threshold at the median foreground probability: about half the
    pixels are objects, in ragged shapes, many across chunk borders (a hard case for seams)."""
    predictor = Predictor(tiny()[0], CLASSES, NORMALIZATION, device="cpu", config=CONFIG)
    predictor.threshold = float(np.median(predictor.predict(image).probabilities[1]))
    return predictor


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the two label images name the same objects (0 in the same places, a one-to-one id map)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]], axis=1), axis=0)
    return len(pairs) == len(np.unique(a[a > 0])) == len(np.unique(b[b > 0]))


def test_streamed_mask_equals_the_whole_image_prediction(tmp_path, scene):
    source, image = scene
    before = _digest(source)
    predictor = _ragged_predictor(image)
    whole = predictor.predict(image).mask
    out = stream_predict(predictor, open_multiscale(source), tmp_path / "out" / "scene.ome.zarr", chunk=32)
    with open_multiscale(out) as labels:
        assert labels.dtype == np.uint16 and labels.levels[0] == (150, 130) and len(labels.levels) == 4
        streamed = labels.read(0, 0, 150, 0, 130)
        np.testing.assert_array_equal(labels.read(1, 0, 75, 0, 65), streamed[::2, ::2])
    assert 0.3 < whole.mean() < 0.7
    np.testing.assert_array_equal(streamed, whole)
    assert _digest(source) == before
    assert not list((tmp_path / "out").glob(".*"))


@pytest.mark.parametrize("min_size", [0, 6])
def test_streamed_instances_are_the_same_objects_with_unique_ids(tmp_path, scene, min_size):
    source, image = scene
    predictor = _ragged_predictor(image)
    whole = predictor.predict(image, instances=True, split_touching=False, min_size=min_size).instances
    with open_multiscale(source) as lazy:
        out = stream_predict(predictor, lazy, tmp_path / "objects.ome.zarr", instances=True, min_size=min_size,
                             split_touching=False, chunk=32)
    with open_multiscale(out) as labels:
        streamed = labels.read(0, 0, 150, 0, 130)
    assert labels.dtype == np.uint32
    assert _same_partition(streamed, whole)
    ids = np.unique(streamed[streamed > 0])
    np.testing.assert_array_equal(ids, np.arange(1, len(ids) + 1))
    chunk_of = (np.arange(150)[:, None] // 32) * 10 + np.arange(130)[None, :] // 32
    spanning = [i for i in ids if len(np.unique(chunk_of[streamed == i])) > 1]
    assert len(spanning) >= 5  # objects crossing chunk borders came out whole
    if min_size:
        assert np.bincount(streamed.ravel())[1:].min() >= min_size


def test_splitting_instances_still_gives_unique_ids_covering_the_mask(tmp_path, scene):
    source, image = scene
    predictor = _ragged_predictor(image)
    mask = predictor.predict(image, min_size=0).mask
    with open_multiscale(source) as lazy:
        out = stream_predict(predictor, lazy, tmp_path / "split.ome.zarr", instances=True, min_size=0, chunk=32)
    with open_multiscale(out) as labels:
        streamed = labels.read(0, 0, 150, 0, 130)
    np.testing.assert_array_equal(streamed > 0, mask > 0)
    ids = np.unique(streamed[streamed > 0])
    np.testing.assert_array_equal(ids, np.arange(1, len(ids) + 1))


def test_stop_leaves_no_output(tmp_path, scene):
    source, _ = scene
    predictor = Predictor(tiny()[0], CLASSES, NORMALIZATION, device="cpu", config=CONFIG)
    stop = threading.Event()
    with open_multiscale(source) as lazy:
        result = stream_predict(predictor, lazy, tmp_path / "stopped.ome.zarr", stop=stop,
                                progress=lambda done, total: stop.set())
    assert result is None and sorted(p.name for p in tmp_path.iterdir()) == ["in", "scene.tif"]


def test_predict_cli_writes_ome_zarr_labels_for_ome_zarr_inputs(tmp_path, scene, capsys):
    source, image = scene
    model, config = tiny()
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, config, CLASSES, NORMALIZATION, {}, {})
    cv2.imwrite(str(source.parent / "small.png"), (image[:64, :64] >> 8).astype(np.uint8))
    before = _digest(source.parent)
    out = tmp_path / "out"
    assert main(["predict", "--model", str(checkpoint), "--images", str(source.parent), "--out", str(out),
                 "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scene.ome.zarr", "small.png"]
    with open_multiscale(out / "scene.ome.zarr") as labels:
        assert labels.levels[0] == (150, 130) and labels.dtype == np.uint16
    assert main(["predict", "--model", str(checkpoint), "--images", str(source.parent), "--out", str(out),
                 "--device", "cpu", "--instances"]) == 0  # our own earlier output is replaced
    with open_multiscale(out / "scene.ome.zarr") as labels:
        assert labels.dtype == np.uint32
    assert main(["predict", "--model", str(checkpoint), "--images", str(source.parent), "--out",
                 str(source.parent)]) == 2
    assert "is the folder of the input images" in capsys.readouterr().err
    assert _digest(source.parent) == before
