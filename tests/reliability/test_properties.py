"""Property tests the other suites lack: fill/polygon undo, blended tiling, annotation and project round trips.

Already covered elsewhere, so not repeated: brush strokes + undo (tests/core/test_painting.py), manifest
JSON and file round trips (tests/core/test_project.py), tile coverage (tests/inference/test_tiling.py).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from unet_studio.core.annotations import annotation_to_mask, mask_to_annotation, read_annotation, write_annotation
from unet_studio.core.manifest import SPLITS, STATUSES
from unet_studio.core.normalize import normalize_for_network
from unet_studio.core.painting import fill_polygon, flood_fill
from unet_studio.core.project import Project
from unet_studio.inference.config import PredictConfig
from unet_studio.inference.tiling import predict_probabilities

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(seed=st.integers(0, 2**16), fills=st.lists(
    st.tuples(st.booleans(), st.lists(st.tuples(st.floats(-4, 36), st.floats(-4, 36)), min_size=1, max_size=6),
              st.integers(0, 4), st.booleans()), min_size=1, max_size=4))
def test_fill_and_polygon_then_undo_is_identity(seed, fills):
    labels = np.random.default_rng(seed).integers(0, 3, (32, 32)).astype(np.uint8)
    original, history = labels.copy(), []
    for is_polygon, points, value, only_unlabelled in fills:
        if is_polygon:
            patch = fill_polygon(labels, points, value, only_unlabelled)
        else:
            patch = flood_fill(labels, (int(points[0][0]), int(points[0][1])), value, only_unlabelled)
        history.append((patch, labels.copy()))
    for patch, after in reversed(history):
        np.testing.assert_array_equal(labels, after)
        if patch is not None:
            patch.apply_old(labels)
    np.testing.assert_array_equal(labels, original)


class PixelwiseNet(nn.Module):
    """A 1x1 convolution: every pixel's output depends on that pixel only, so tiling must not show."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Conv2d(2, 3, 1)

    def forward(self, x):
        return self.head(x)


@FAST
@given(height=st.integers(1, 120), width=st.integers(1, 120), tile=st.integers(8, 48),
       overlap_fraction=st.floats(0, 0.5))
def test_blended_tiles_reproduce_a_pixelwise_model_exactly(height, width, tile, overlap_fraction):
    """Blend weights normalised to 1 everywhere and every pixel covered: only then is tiling invisible."""
    model = PixelwiseNet().eval()
    image = np.random.default_rng(height * 131 + width).random((2, height, width), dtype=np.float32)
    overlap = int(tile * overlap_fraction) // 2 * 2
    overlap = min(overlap, tile // 2)
    tiled = predict_probabilities(model, image, PredictConfig(tile, overlap, precision="fp32"), device="cpu")
    with torch.no_grad():
        whole = torch.softmax(model(torch.from_numpy(image)[None]), 1)[0].numpy()
    assert tiled.shape == whole.shape
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


@FAST
@given(shape=st.tuples(st.integers(1, 40), st.integers(1, 40)), high=st.sampled_from([1, 4, 255, 256, 65535]),
       seed=st.integers(0, 2**16))
def test_annotation_files_round_trip(shape, high, seed):
    labels = np.random.default_rng(seed).integers(0, high + 1, shape).astype(np.uint16 if high > 255 else np.uint8)
    labels.flat[0] = high
    with tempfile.TemporaryDirectory() as folder:
        written = write_annotation(Path(folder) / "a", labels)
        assert written.suffix == (".tif" if high > 255 else ".png")
        back = read_annotation(written, shape)
    assert back.dtype == labels.dtype
    np.testing.assert_array_equal(back, labels)


@FAST
@given(shape=st.tuples(st.integers(1, 30), st.integers(1, 30)), classes=st.sampled_from([1, 3, 254, 255, 1000]),
       seed=st.integers(0, 2**16))
def test_mask_annotation_conversions_round_trip(shape, classes, seed):
    mask = np.random.default_rng(seed).integers(0, classes + 1, shape).astype(np.uint16 if classes > 255 else np.uint8)
    annotation = mask_to_annotation(mask)
    assert annotation.min() >= 1 and int(annotation.max()) == int(mask.max()) + 1
    np.testing.assert_array_equal(annotation_to_mask(annotation), mask)
    assert annotation_to_mask(np.zeros(shape, np.uint8)).max() == 0


@settings(max_examples=10, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(["status", "split", "class", "settings"]), st.integers(0, 10)),
                      max_size=8))
def test_project_edits_survive_reopening(edits):
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "im.png"
        cv2.imwrite(str(image), np.zeros((8, 9), np.uint8))
        project = Project.create(Path(folder) / "p", [image])
        for kind, n in edits:
            if kind == "status":
                project.set_status("im", STATUSES[n % len(STATUSES)])
            elif kind == "split":
                project.set_split("im", SPLITS[n % len(SPLITS)])
            elif kind == "class":
                project.add_class(f"class {n}")
            else:
                project.update_settings(**{f"k{n}": n})
        assert Project.open(project.folder).manifest == project.manifest


@FAST
@given(pixels=arrays(st.sampled_from([np.float32, np.float64]), st.tuples(st.integers(1, 12), st.integers(1, 12),
                                                                          st.integers(1, 3)),
                     elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
@example(pixels=np.array([[[0.0], [-5.94e-43], [-5.94e-43]]], np.float32))  # subnormal span: 1/span overflowed
def test_network_input_is_finite_and_clipped_for_any_floats(pixels):
    images = [pixels]
    if pixels.dtype == np.float64:
        with np.errstate(over="ignore"):
            images.append(pixels * 1e300)  # near float64's limits, where percentile interpolation overflows
    for image in images:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = normalize_for_network(image)
        assert out.dtype == np.float32 and out.shape == (pixels.shape[2],) + pixels.shape[:2]
        assert np.isfinite(out).all() and out.min() >= -0.5 and out.max() <= 1.5
