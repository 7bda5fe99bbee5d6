"""The `unet-studio` command line end to end on tiny synthetic data: train, info, predict, evaluate, export."""

import json
import cv2
import numpy as np
import pytest
import tifffile
import torch

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


class BrightIsCell(torch.nn.Module):
    """A stand-in two-class network whose cell probability follows the normalised image, so the mask it
    predicts is known on every CPU (a 4-step model's probabilities differ with the CPU's precision)."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Conv2d(1, 1, 1)

    def forward(self, x):
        p = 0.05 + 0.9 * x.clamp(0, 1)
        return torch.cat([torch.log(1 - p), torch.log(p)], dim=1)


def test_predict_instance_splitting_options(tmp_path, folders, model, capsys):
    """The default splits two touching discs; --no-split gives connected components; a seed height beyond
    any object's depth splits nothing either; 0 is refused by the parser."""
    from unet_studio.inference.predictor import PredictConfig, Predictor

    yy, xx = np.mgrid[:48, :64]
    discs = (np.hypot(yy - 24, xx - 23) <= 12) | (np.hypot(yy - 24, xx - 41) <= 12)  # a neck 16 px wide
    predictor = Predictor(BrightIsCell(), [{"value": 1, "name": "background"}, {"value": 2, "name": "cell"}],
                          {"method": "percentile", "low": 0.5, "high": 99.5}, device="cpu",
                          config=PredictConfig(64, 16, precision="fp32"))
    pixels = discs.astype(np.uint8) * 200
    split = predictor.predict(pixels, instances=True).instances
    plain = predictor.predict(pixels, instances=True, split_touching=False).instances
    deep = predictor.predict(pixels, instances=True, seed_height=1000.0).instances
    assert (split > 0).sum() == (plain > 0).sum() == (deep > 0).sum() == discs.sum()
    assert (split.max(), plain.max(), deep.max()) == (2, 1, 1)
    assert split[24, 20] != split[24, 44]

    images, _ = folders
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
