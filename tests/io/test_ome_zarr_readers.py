"""Our OME-Zarr outputs read by ome-zarr-py's own Reader (the library napari-ome-zarr reads them with):
`convert` images and streamed-prediction label images, NGFF 0.4 and 0.5. Multiscales, axes and scales are
what we wrote, the label images carry `image-label`, and every level's pixels equal ours."""

import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from tests.inference.test_predictor import CLASSES, NORMALIZATION, tiny
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.predictor import Predictor
from unet_studio.inference.stream import stream_predict
from unet_studio.io.ome_zarr import open_multiscale
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr
from unet_studio.io.ome_zarr_write import downsample_nearest

reader = pytest.importorskip("ome_zarr.reader")
ome_io = pytest.importorskip("ome_zarr.io")
pytestmark = pytest.mark.parametrize("ngff", ["0.4", "0.5"])


def _node(path):
    """The first node ome-zarr-py's Reader finds at `path`, with the names of the specs it matched."""
    location = ome_io.parse_url(str(path))
    assert location is not None, f"ome-zarr-py does not see a zarr store at {path}"
    node = next(iter(reader.Reader(location)()))
    return node, {type(spec).__name__ for spec in node.specs}


def _scales(node):
    return [transforms[0]["scale"] for transforms in node.metadata["coordinateTransformations"]]


def test_convert_output_reads_back_in_ome_zarr_py(tmp_path, ngff):
    image = np.random.default_rng(2).integers(0, 65535, (2, 150, 130), dtype=np.uint16)  # two channels
    tifffile.imwrite(tmp_path / "two.tif", image, metadata={"axes": "CYX"})
    out = convert_to_ome_zarr(tmp_path / "two.tif", tmp_path / "two.ome.zarr", chunk=32, ngff=ngff)
    node, specs = _node(out)
    assert "Multiscales" in specs and "Label" not in specs
    assert [(a["name"], a["type"]) for a in node.metadata["axes"]] == [("c", "channel"), ("y", "space"), ("x", "space")]
    with open_multiscale(out) as ours:
        assert [tuple(level.shape) for level in node.data] == [(2, h, w) for h, w in ours.levels]
        assert _scales(node) == [[1.0, ours.level_scale(i), ours.level_scale(i)] for i in range(len(ours.levels))]
        for i, (level, (h, w)) in enumerate(zip(node.data, ours.levels)):
            np.testing.assert_array_equal(np.moveaxis(np.asarray(level), 0, -1), ours.read(i, 0, h, 0, w))
    np.testing.assert_array_equal(np.asarray(node.data[0]), image)


@pytest.mark.parametrize("instances", [False, True])
def test_streamed_prediction_is_a_label_image_in_ome_zarr_py(tmp_path, ngff, instances):
    pixels, _ = make_blobs((150, 130), n=25, radius=7, seed=3, dtype=np.uint16)
    tifffile.imwrite(tmp_path / "scene.tif", pixels)
    source = convert_to_ome_zarr(tmp_path / "scene.tif", tmp_path / "in" / "scene.ome.zarr", chunk=32, ngff=ngff)
    predictor = Predictor(tiny()[0], CLASSES, NORMALIZATION, device="cpu", config=PredictConfig(64, 16, precision="fp32"))
    predictor.threshold = float(np.median(predictor.predict(pixels).probabilities[1]))  # about half objects
    with open_multiscale(source) as lazy:
        out = stream_predict(predictor, lazy, tmp_path / "out" / "scene.ome.zarr", instances=instances, chunk=32,
                             ngff=ngff)
    node, specs = _node(out)
    assert {"Label", "Multiscales"} <= specs
    assert "image-label" in node.zarr.root_attrs
    assert [(a["name"], a["type"]) for a in node.metadata["axes"]] == [("y", "space"), ("x", "space")]
    level0 = np.asarray(node.data[0])
    assert level0.dtype == (np.uint32 if instances else np.uint16)
    with open_multiscale(out) as ours:
        assert _scales(node) == [[ours.level_scale(i)] * 2 for i in range(len(ours.levels))]
        for i, (level, (h, w)) in enumerate(zip(node.data, ours.levels)):
            np.testing.assert_array_equal(np.asarray(level), ours.read(i, 0, h, 0, w))
    if instances:
        assert len(np.unique(level0)) > 10  # many objects, each its own id
    else:
        np.testing.assert_array_equal(level0, predictor.predict(pixels).mask)  # the whole-image mask
    expected = level0
    for level in node.data[1:]:
        expected = downsample_nearest(expected)
        np.testing.assert_array_equal(np.asarray(level), expected)  # levels by nearest pixel: label values kept
