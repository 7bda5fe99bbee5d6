"""`train --labels-format instances` and the predict flags that override the model's chosen post-processing."""

import pytest
import tifffile

from tests.cli.helpers import TINY_TRAIN
from tests.training.test_instance_recipe import _touching_pairs
from unet_studio.cli import main
from unet_studio.models.checkpoint import load_checkpoint


def _predict(model, images, out, *flags) -> dict:
    assert main(["predict", "--model", str(model), "--images", str(images), "--out", str(out), "--instances",
                 "--device", "cpu", *flags]) == 0
    return {p.name: tifffile.imread(p) for p in sorted(out.iterdir())}


def _pixels(results: dict) -> int:
    return sum(int((ids > 0).sum()) for ids in results.values())


def test_instance_labels_train_the_border_recipe_and_predict_uses_or_overrides_its_choices(tmp_path, capsys):
    images, labels = _touching_pairs(tmp_path, count=5)
    model = tmp_path / "model.pt"
    assert main(["train", "--images", str(images), "--labels", str(labels), "--labels-format", "instances",
                 "--instance-target", "touching-border", "--out", str(model), *TINY_TRAIN, "--max-steps", "6", "--steps-per-epoch", "3"]) == 0
    err = capsys.readouterr().err
    assert "touching border" in err and "post-processing chosen" in err
    checkpoint = load_checkpoint(model)
    assert checkpoint.recipe.has_border and checkpoint.postprocess
    assert main(["info", str(model)]) == 0
    card = capsys.readouterr().out
    assert "touching border (2 px)" in card and "seed level" in card and "by shape" in card
    chosen = _predict(model, images, tmp_path / "chosen")
    assert len(chosen) == 5 and all(ids.shape == (48, 64) for ids in chosen.values())
    loose = _predict(model, images, tmp_path / "loose", "--threshold", "0.01", "--min-size", "0", "--no-tta",
                     "--seed-level", "0.9", "--shape-height", "0")
    assert _pixels(loose) >= max(_pixels(chosen), 1)
    unsplit = _predict(model, images, tmp_path / "unsplit", "--shape-height", "0", "--min-size", "0")
    split = _predict(model, images, tmp_path / "split", "--shape-height", "0.5", "--min-size", "0")
    assert _pixels(split) == _pixels(unsplit)  # the split by shape relabels objects, it never drops pixels
    assert sum(int(ids.max()) for ids in split.values()) >= sum(int(ids.max()) for ids in unsplit.values())
    assert _pixels(_predict(model, images, tmp_path / "none", "--min-size", "1000000", "--tta")) == 0
    capsys.readouterr()


@pytest.mark.parametrize("flag", ["--threshold", "--seed-level"])
def test_out_of_range_probabilities_are_refused(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--model", "m.pt", "--images", str(tmp_path), "--out", str(tmp_path / "o"), flag, "1.5"])
    assert exit_.value.code == 2 and "between 0 and 1" in capsys.readouterr().err


def test_a_negative_shape_height_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--model", "m.pt", "--images", str(tmp_path), "--out", str(tmp_path / "o"), "--shape-height", "-1"])
    assert exit_.value.code == 2 and "at least 0" in capsys.readouterr().err
