"""Outputs never land on inputs or on each other, and an unusable --out is one line (issue 20, items 1, 2, 5).

Each case runs the real command in a subprocess; the README's "originals are never written" is
test_predict_refuses_to_write_among_the_originals.
"""

import os
import shutil

import cv2
import numpy as np
import pytest
import tifffile

from tests.cli.helpers import (
    TINY_TRAIN, assert_one_line_error, digests, error_lines, run_cli, tmpfs_at, write_pairs,
    write_tiny_model,
)
from unet_studio.cli import main


@pytest.fixture
def pairs(tmp_path):
    return write_pairs(tmp_path)


@pytest.fixture
def model(tmp_path):
    return write_tiny_model(tmp_path / "model.pt")


@pytest.mark.parametrize("out_is", ["the images folder", "an image file"])
def test_predict_refuses_to_write_among_the_originals(tmp_path, pairs, model, out_is):
    """On main, --out equal to --images replaced every PNG original by its 0/1 mask and exited 0."""
    images, _ = pairs
    before = digests(images)
    out = images if out_is == "the images folder" else images / "cell_0.png"
    result = run_cli("predict", "--model", model, "--images", images, "--out", out)
    assert_one_line_error(result, str(out), "originals are never written")
    assert digests(images) == before


def test_export_and_import_refuse_to_write_what_they_read(tmp_path, pairs):
    """export --out among the originals, and import-labels from the project's own annotations folder (which
    it rewrites), are refused before anything is written."""
    images, masks = pairs
    before = digests(images)
    result = run_cli("export", "--images", images, "--labels", masks, "--out", images, "--format", "masks")
    assert_one_line_error(result, str(images), "originals are never written")
    assert digests(images) == before

    assert main(["import-labels", str(images), "--labels", str(masks)]) == 0  # the folder becomes a project
    annotations = images / "annotations"
    kept = digests(annotations)
    result = run_cli("import-labels", images, "--labels", annotations)
    assert_one_line_error(result, "own annotations folder")
    assert digests(annotations) == kept


def test_predict_names_outputs_of_colliding_stems_apart(tmp_path, pairs, model):
    """a.png, a.PNG and a.tif all made a.png on main (one file, "wrote 3"); now each keeps its suffix."""
    images, _ = pairs
    source = cv2.imread(str(images / "cell_0.png"), cv2.IMREAD_UNCHANGED)
    shutil.copy(images / "cell_0.png", images / "a.png")
    shutil.copy(images / "cell_1.png", images / "a.PNG")
    tifffile.imwrite(images / "a.tif", source)
    out = tmp_path / "preds"
    result = run_cli("predict", "--model", model, "--images", images, "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a.png.png", "a.PNG.png", "a.tif.png"] + [f"cell_{i}.png" for i in range(4)])
    assert "share the name 'a'" in result.stderr and "wrote 7 mask file(s)" in result.stderr


def test_export_refuses_images_whose_stems_collide(tmp_path, pairs):
    """Two images named a.* would share one label file and one output: refused, listing them."""
    images, masks = pairs
    shutil.copy(images / "cell_0.png", images / "cell_0.tif")
    out = tmp_path / "export"
    result = run_cli("export", "--images", images, "--labels", masks, "--out", out, "--format", "csv")
    assert_one_line_error(result, "cell_0.png, cell_0.tif")
    assert not out.exists()


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nothing can be created in: chmod 555, or for root (whom permissions do not stop) a read-only
    tmpfs mount; skipped where neither is possible."""
    folder = tmp_path / "read-only"
    if os.geteuid() == 0:
        with tmpfs_at(folder, "ro,size=64k"):
            yield folder
        return
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def _unusable_out(case, tmp_path, read_only_folder):
    """An --out folder that cannot be made: under a file, equal to a file, or inside a read-only folder."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    cases = {"under a file": a_file / "out", "equal to a file": a_file,
             "in a read-only folder": read_only_folder / "out"}
    return cases[case]


def _command(name, out, pairs, model):
    images, masks = pairs
    if name == "predict":
        return ["predict", "--model", model, "--images", images, "--out", out]
    if name == "export":
        return ["export", "--images", images, "--labels", masks, "--out", out, "--format", "csv"]
    target = out if out.name == "a-file" else out / "model.pt"
    return ["train", "--images", images, "--labels", masks, "--labels-format", "mask", "--out", target,
            "--max-steps", "1", *TINY_TRAIN]


CASES = ["under a file", "equal to a file", "in a read-only folder"]


@pytest.mark.parametrize(("name", "case"), [("predict", "under a file"), ("export", "equal to a file"),
                                            ("train", "in a read-only folder")])
def test_unusable_out_folder_is_one_line_through_the_cli(tmp_path, pairs, model, read_only_folder, name, case):
    """On main these were PermissionError / NotADirectoryError / FileExistsError tracebacks."""
    out = _unusable_out(case, tmp_path, read_only_folder)
    assert_one_line_error(run_cli(*_command(name, out, pairs, model)))


@pytest.mark.parametrize("name", ["predict", "export", "train"])
@pytest.mark.parametrize("case", CASES)
def test_every_unusable_out_folder_is_one_line(tmp_path, pairs, model, read_only_folder, name, case, capsys):
    """The whole table in-process (fast): each command, each kind of unusable folder; train refuses
    before its first step (an existing file as --out is refused as existing)."""
    out = _unusable_out(case, tmp_path, read_only_folder)
    assert main([*map(str, _command(name, out, pairs, model))]) == 2
    err = capsys.readouterr().err
    assert len(error_lines(err)) == 1 and "epoch" not in err and "step" not in err.split("error:")[0], err


def test_export_progress_ends_at_100_percent(tmp_path):
    """On main the non-terminal progress showed its first line only: "10% 1/10" was the last word."""
    images, masks = write_pairs(tmp_path, count=10, size=24)
    result = run_cli("export", "--images", images, "--labels", masks, "--out", tmp_path / "csv", "--format", "csv")
    assert result.returncode == 0, result.stderr
    bars = [line for line in result.stderr.splitlines() if line.startswith("export [")]
    assert bars[-1].endswith("100% 10/10"), result.stderr
    assert np.all([p.suffix == ".csv" for p in (tmp_path / "csv").iterdir()])
