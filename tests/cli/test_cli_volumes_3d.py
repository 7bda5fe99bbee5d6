"""`train --model unet3d` on multi-page TIFF volumes and `predict` with the 3-D model: multi-page masks,
3-D instances, measurements with volume; one-line refusals."""

import csv

import numpy as np
import pytest
import tifffile

from unet_studio.cli import main
from unet_studio.data.volume import read_volume
from unet_studio.models.checkpoint import load_checkpoint

TINY_3D = ["--preset", "fast", "--batch-size", "1", "--patch-size", "32", "--patch-depth", "4", "--device", "cpu",
           "--augment", "none", "--no-amp"]


def write_volumes(folder, count=2):
    """Volumes of bright balls (8 x 32 x 32, voxel 2 x 0.5 x 0.5 um) with labels on planes 2 and 5 only."""
    images, labels = folder / "images", folder / "labels"
    images.mkdir()
    labels.mkdir()
    z, y, x = np.mgrid[:8, :32, :32]
    for index in range(count):
        rng = np.random.default_rng(index)
        balls = np.zeros((8, 32, 32), bool)
        for cz, cy, cx in rng.uniform([2, 8, 8], [6, 24, 24], (2, 3)):
            balls |= ((z - cz) / 2.5) ** 2 + ((y - cy) / 6) ** 2 + ((x - cx) / 6) ** 2 <= 1
        image = (balls * 150 + 40 + rng.normal(0, 10, balls.shape)).clip(0, 255).astype(np.uint8)
        label = np.zeros(balls.shape, np.uint8)
        label[[2, 5]] = np.where(balls[[2, 5]], 2, 1)
        metadata = {"axes": "ZYX", "spacing": 2.0, "unit": "um"}
        tifffile.imwrite(images / f"v{index}.tif", image, imagej=True, metadata=metadata, resolution=(2.0, 2.0))
        tifffile.imwrite(labels / f"v{index}.tif", label, imagej=True, metadata={"axes": "ZYX"})
    return images, labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volumes")
    images, labels = write_volumes(folder)
    model = folder / "m3d.pt"
    rc = main(["train", "--images", str(images), "--labels", str(labels), "--model", "unet3d", "--out", str(model),
               "--max-steps", "4", *TINY_3D])
    assert rc == 0
    return images, labels, model


def test_train_writes_a_3d_checkpoint(trained):
    checkpoint = load_checkpoint(trained[2])
    assert checkpoint.model_config.arch == "unet3d"
    assert checkpoint.model_config.xy_pool_levels == 1  # fast preset depth 2, 4 planes: z pooled once
    assert checkpoint.history["patch_depth"] == 4 and checkpoint.train_config["patch_size"] == 32


def test_predict_writes_one_multipage_mask_per_volume(trained, tmp_path):
    images, _, model = trained
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(tmp_path / "masks"),
                 "--device", "cpu"]) == 0
    for name in ("v0.tif", "v1.tif"):
        written = read_volume(tmp_path / "masks" / name)
        assert written.shape == (8, 32, 32) and written.pixels.dtype == np.uint8
        assert written.voxel_size_um == pytest.approx((2.0, 0.5, 0.5))
        assert set(np.unique(written.pixels)) <= {0, 1}


def test_predict_instances_and_measurements_with_volume(trained, tmp_path):
    images, _, model = trained
    out = tmp_path / "objects"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--instances",
                 "--measurements", "--device", "cpu"]) == 0
    assert read_volume(out / "v0.tif").shape == (8, 32, 32)
    with open(out / "measurements.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert float(row["volume_um3"]) == pytest.approx(float(row["volume_voxels"]) * 0.5)
    assert {row["image"] for row in rows} <= {"v0.tif", "v1.tif"}


def test_volume_runs_refuse_what_they_cannot_do(trained, tmp_path, capsys):
    images, labels, _ = trained
    base = ["train", "--images", str(images), "--labels", str(labels), "--model", "unet3d",
            "--out", str(tmp_path / "x.pt"), *TINY_3D]
    assert main([*base, "--labels-format", "mask"]) == 2
    assert main([*base, "--padding", "valid"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "does not take --labels-format mask" in errors[0]
    assert "padding 'valid' is only available for arch 'unet'" in errors[1]
    assert not (tmp_path / "x.pt").exists()


def test_mismatched_label_volume_is_one_skipped_line(trained, tmp_path, capsys):
    images, labels, _ = trained
    bad_labels = tmp_path / "labels"
    bad_labels.mkdir()
    tifffile.imwrite(bad_labels / "v0.tif", np.ones((3, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})
    (bad_labels / "v1.tif").write_bytes((labels / "v1.tif").read_bytes())
    rc = main(["train", "--images", str(images), "--labels", str(bad_labels), "--model", "unet3d",
               "--out", str(tmp_path / "y.pt"), "--max-steps", "1", *TINY_3D])
    err = capsys.readouterr().err
    assert rc == 1  # trained on v1, but one input was skipped
    assert "v0.tif" in err and "(3, 32, 32)" in err and "does not match" in err


def test_measurements_with_a_2d_model_are_refused(tmp_path, capsys):
    from tests.cli.helpers import write_tiny_model
    model = write_tiny_model(tmp_path / "m2d.pt")
    (tmp_path / "in").mkdir()
    assert main(["predict", "--model", str(model), "--images", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                 "--measurements"]) == 2
    assert "--measurements is for 3-D models" in capsys.readouterr().err


def test_exporting_a_3d_model_is_refused_in_one_line(trained, tmp_path, capsys):
    assert main(["export-model", "--model", str(trained[2]), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "3-D models are not exported" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
