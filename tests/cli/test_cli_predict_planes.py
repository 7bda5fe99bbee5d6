"""`predict` on stacks with a 2-D model: every plane into one multi-page mask; `--plane N` one plane."""

import cv2
import numpy as np
import tifffile

from tests.cli.helpers import write_tiny_model
from tests.conftest import make_blobs
from unet_studio.cli import main
from unet_studio.core.images import read_image
from unet_studio.inference.model_files import load_predictor

PLANES = 3


def _images(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    stack = np.stack([make_blobs((48, 48), seed=p)[0] for p in range(PLANES)])
    tifffile.imwrite(images / "stack.tif", stack, photometric="minisblack")
    cv2.imwrite(str(images / "flat.png"), make_blobs((48, 48), seed=9)[0])
    return images


def test_every_plane_of_a_stack_is_predicted_into_one_multi_page_mask(tmp_path):
    images, model = _images(tmp_path), write_tiny_model(tmp_path / "model.pt")
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["flat.png", "stack.tif"]
    written = tifffile.imread(out / "stack.tif")
    predictor = load_predictor(model, device="cpu")
    expected = [predictor.predict(read_image(images / "stack.tif", plane=p).pixels).mask for p in range(PLANES)]
    assert written.shape == (PLANES, 48, 48)
    for plane in range(PLANES):
        np.testing.assert_array_equal(written[plane], expected[plane])


def test_plane_picks_one_plane_as_before(tmp_path):
    images, model = _images(tmp_path), write_tiny_model(tmp_path / "model.pt")
    (images / "flat.png").unlink()  # a flat image has no plane 1 (one line says so, as before)
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--plane", "1",
                 "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["stack.png"]
    predictor = load_predictor(model, device="cpu")
    expected = predictor.predict(read_image(images / "stack.tif", plane=1).pixels).mask
    np.testing.assert_array_equal(cv2.imread(str(out / "stack.png"), cv2.IMREAD_UNCHANGED), expected)


def test_instances_of_a_stack_number_on_through_the_planes(tmp_path):
    images, model = _images(tmp_path), write_tiny_model(tmp_path / "model.pt")
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--instances",
                 "--threshold", "0.01", "--device", "cpu"]) == 0
    volume = tifffile.imread(out / "stack.tif")
    assert volume.shape == (PLANES, 48, 48)
    ids = [set(np.unique(plane)) - {0} for plane in volume]
    assert all(not (ids[a] & ids[b]) for a in range(PLANES) for b in range(a + 1, PLANES))
