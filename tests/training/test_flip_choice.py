"""Test-time flips for semantic models, chosen on validation images: a tile function stands in for the network
(as in test_instance_recipe), then a tiny real run records the choice and the Predictor uses it."""

import threading

import numpy as np
import pytest

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, scribbled_items, tiny_config
from unet_studio.cli import main
from unet_studio.data.sampling import TrainItem
from unet_studio.inference.predictor import Predictor
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.training.flip_choice import FLIP_DICE_GAIN, choose_flips, describe_flips
from unet_studio.training.trainer import Trainer
from unet_studio.training.validation import Validation, validate


def _disc_items(count=2, size=48):
    """Items whose 'image' is the one-hot truth itself: a tile function then decides what the 'network' says."""
    items = []
    for index in range(count):
        yy, xx = np.mgrid[:size, :size]
        truth = ((yy - 20 - 3 * index) ** 2 + (xx - 24) ** 2 <= 8**2).astype(np.int64)
        image = np.stack([1.0 - truth, truth]).astype(np.float32)
        items.append(TrainItem(image, truth, name=f"d{index}"))
    return items


def _validate_with(function, items):
    return lambda tta: validate(function, items, tile=64, overlap=8, device="cpu", precision="fp32", loss_kind="ce",
                                class_weights=None, class_names=["background", "disc"], tta=tta)


def shifted(tile_input):
    """A 'network' that sees everything 3 px to the right and below: the flips average the shift out."""
    return np.roll(tile_input, (3, 3), axis=(-2, -1))


def test_flips_go_on_when_they_raise_validation_dice_enough():
    choice = choose_flips(_validate_with(shifted, _disc_items()), 2)
    assert choice.tta and choice.val_dice_flips >= choice.val_dice_plain + FLIP_DICE_GAIN
    assert choice.n_images == 2 and choice.seconds_tta is not None
    assert "flips on" in describe_flips(choice.to_dict())


def test_flips_stay_off_when_they_add_nothing():
    choice = choose_flips(_validate_with(lambda tile: tile, _disc_items()), 2)  # a perfect, symmetric 'network'
    assert not choice.tta and choice.val_dice_plain == pytest.approx(1.0)
    assert choice.threshold == _validate_with(lambda tile: tile, _disc_items())(False).threshold


def test_no_dice_to_compare_gives_no_choice():
    assert choose_flips(lambda tta: Validation(0.5, {}, None), 1) is None


@pytest.mark.parametrize("choose", [True, False])
def test_a_semantic_run_records_its_flip_choice_and_the_predictor_uses_it(tmp_path, choose, capsys):
    items = blob_items(count=3)
    trainer = Trainer(TINY_MODEL, tiny_config(choose_flips=choose), items[:2], items[2:], CLASSES, tmp_path / "m.pt")
    finished = list(trainer.iter_fit(threading.Event()))[-1]
    checkpoint = load_checkpoint(finished.checkpoint_path)
    predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
    if not choose:
        assert checkpoint.postprocess == {} and not predictor.config.tta
        return
    assert set(checkpoint.postprocess) >= {"tta", "threshold", "val_dice_plain", "val_dice_flips"}
    assert checkpoint.threshold == checkpoint.postprocess["threshold"]
    assert predictor.config.tta == checkpoint.postprocess["tta"]
    assert main(["info", str(finished.checkpoint_path)]) == 0
    assert "test-time flips" in capsys.readouterr().out  # `unet-studio info` shows the choice


@pytest.mark.parametrize("labels, choose, flips", [("scribbles", True, True), ("scribbles", False, False),
                                                   ("dense", True, False)])
def test_a_run_without_validation_images_turns_flips_on_for_scribbles_only(tmp_path, labels, choose, flips, capsys):
    items = scribbled_items(2) if labels == "scribbles" else blob_items(2)
    trainer = Trainer(TINY_MODEL, tiny_config(choose_flips=choose), items, [], CLASSES, tmp_path / "m.pt")
    events = list(trainer.iter_fit(threading.Event()))
    checkpoint = load_checkpoint(events[-1].checkpoint_path)
    predictor = Predictor.from_checkpoint(events[-1].checkpoint_path, device="cpu")
    assert predictor.config.tta is flips and bool(checkpoint.postprocess.get("tta")) is flips
    if flips:
        assert checkpoint.threshold is None and checkpoint.postprocess["rule"] == "scribbles without validation images"
        assert any("test-time flips on: scribbles" in getattr(event, "message", "") for event in events)
        assert main(["info", str(events[-1].checkpoint_path)]) == 0
        assert "test-time flips on: scribbles without validation images" in capsys.readouterr().out
    else:
        assert checkpoint.postprocess == {}
