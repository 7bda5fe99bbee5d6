"""The `unet-studio` command line end to end on tiny synthetic data: train, info, predict, evaluate, export."""

import json
import cv2
import numpy as np
import pytest
import tifffile

from tests.conftest import make_blobs
from unet_studio.cli import main
from unet_studio.demo import prepare_demo_project

TINY = ["--preset", "fast", "--max-steps", "4", "--steps-per-epoch", "2", "--batch-size", "2", "--patch-size", "32"]


@pytest.fixture
def folders(tmp_path):
    """images/ with four blob PNGs, masks/ with their conventional masks (0 background, 1 blob)."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(4):
        image, mask = make_blobs((48, 48), seed=i)
        cv2.imwrite(str(images / f"cell_{i}.png"), image)
        cv2.imwrite(str(masks / f"cell_{i}.png"), mask)
    return images, masks


@pytest.fixture
def model(tmp_path, folders):
    images, masks = folders
    out = tmp_path / "model.pt"
    code = main(["train", "--images", str(images), "--labels", str(masks), "--labels-format", "mask",
                 "--out", str(out), *TINY])
    assert code == 0 and out.is_file()
    return out


def test_info_prints_the_model_card_as_json(model, capsys):
    assert main(["info", str(model), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["architecture"]["arch"] == "unet" and card["architecture"]["in_channels"] == 1
    assert [c["value"] for c in card["classes"]] == [1, 2]
    assert card["training"]["steps"][-1] == 4  # steps reached at the end of each epoch
    validation = card["training"]["validation_images"]
    assert len(validation) == 1 and validation[0] in {i["name"] for i in card["training"]["images"]}
    assert main(["info", str(model)]) == 0
    assert "images     4 used, 1 of them for validation" in capsys.readouterr().out


def test_predict_then_evaluate_and_export(tmp_path, folders, model, capsys):
    images, masks = folders
    preds = tmp_path / "preds"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(preds)]) == 0
    written = sorted(p.name for p in preds.iterdir())
    assert written == [f"cell_{i}.png" for i in range(4)]
    mask = cv2.imread(str(preds / "cell_0.png"), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (48, 48) and set(np.unique(mask)) <= {0, 1}
    capsys.readouterr()

    assert main(["evaluate", "--pred", str(preds), "--truth", str(masks)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 4 and set(report["images"]) == {f"cell_{i}" for i in range(4)}
    assert 0.0 <= report["mean"]["pixel_error"] <= 1.0 and "ap@0.5" in report["mean"]

    out = tmp_path / "csv"
    assert main(["export", "--images", str(images), "--labels", str(masks), "--out", str(out), "--format", "csv"]) == 0
    rows = (out / "cell_0.csv").read_text().splitlines()
    assert rows[0].startswith("image,label") and len(rows) > 1


def test_predict_instances_writes_uint16_tiffs(tmp_path, folders, model):
    images, _ = folders
    out = tmp_path / "inst"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--instances"]) == 0
    labels = tifffile.imread(out / "cell_1.tif")
    assert labels.dtype == np.uint16 and labels.shape == (48, 48)


def test_predict_instance_splitting_options(tmp_path, folders, model, capsys):
    """--no-split gives connected components; a seed height beyond any object's depth splits nothing either;
    the default splits; 0 is refused by the parser. The tiny model's probabilities are cut at their median,
    so there are many touching pieces to split."""
    from skimage.measure import label

    from unet_studio.core.images import read_image
    from unet_studio.inference.predictor import Predictor

    images, _ = folders
    predictor = Predictor.from_checkpoint(model, device="cpu")
    pixels = read_image(images / "cell_0.png").pixels
    predictor.threshold = float(np.median(predictor.predict(pixels).probabilities[1]))
    split = predictor.predict(pixels, instances=True).instances
    plain = predictor.predict(pixels, instances=True, split_touching=False).instances
    deep = predictor.predict(pixels, instances=True, seed_height=1000.0).instances
    mask = predictor.predict(pixels, min_size=15).mask
    assert ((plain > 0) == (mask > 0)).all() and plain.max() == label(mask, connectivity=1).max() >= 1
    pairs = np.unique(np.stack([deep[mask > 0], plain[mask > 0]]), axis=1)
    assert pairs.shape[1] == plain.max() == deep.max()  # the same partition, perhaps numbered otherwise
    assert split.max() > plain.max() and ((split > 0) == (mask > 0)).all()

    run = ["predict", "--model", str(model), "--images", str(images), "--instances"]
    assert main([*run, "--out", str(tmp_path / "a"), "--no-split", "--seed-height", "2.5"]) == 0
    assert len(list((tmp_path / "a").glob("*.tif"))) == 4
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main([*run, "--out", str(tmp_path / "b"), "--seed-height", "0"])
    assert stopped.value.code == 2 and "expected a number above 0, got '0'" in capsys.readouterr().err


def test_bad_image_gives_one_line_and_the_rest_still_predicts(tmp_path, folders, model, capsys):
    images, _ = folders
    (images / "broken.png").write_text("not an image")
    out = tmp_path / "preds"
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    problems = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(problems) == 1 and "broken.png" in problems[0] and "Traceback" not in err
    assert len(list(out.glob("*.png"))) == 4


def test_missing_model_is_one_line_error(tmp_path, folders, capsys):
    images, _ = folders
    code = main(["predict", "--model", str(tmp_path / "nope.pt"), "--images", str(images), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nope.pt" in err[0]


def test_train_on_project_registers_the_model(tmp_path, capsys):
    project = prepare_demo_project(tmp_path / "demo")
    assert main(["train", str(project.folder), *TINY]) == 0
    reopened = type(project).open(project.folder)
    assert reopened.active_model is not None
    assert reopened.model_path(reopened.active_model).is_file()


def test_export_model_onnx_writes_model_and_card(tmp_path, model):
    out = tmp_path / "model.onnx"
    assert main(["export-model", "--model", str(model), "--format", "onnx", "--out", str(out)]) == 0
    assert out.is_file()
    card = json.loads((tmp_path / "model.onnx.card.json").read_text())
    assert [c["value"] for c in card["classes"]] == [1, 2] and card["architecture"]["arch"] == "unet"


def test_app_without_a_display_says_why_in_one_line(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no display found" in err[0] and "xvfb-run" in err[0]
