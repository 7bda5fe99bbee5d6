"""Scribble runs fit a pixel forest beside the network, save it, and their predictions average the two."""

import sys

import numpy as np
import pytest

from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, scribbled_items, tiny_config
from unet_studio.core.normalize import normalize_for_network
from unet_studio.inference.predictor import Predictor
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.pixel_forest import FOREST_KEY
from unet_studio.training.events import Log, TrainingFinished
from unet_studio.training.trainer import Trainer

pytest.importorskip("sklearn")


def run(tmp_path, items, **changes):
    trainer = Trainer(TINY_MODEL, tiny_config(**changes), items, [], CLASSES, tmp_path / "m.pt")
    events = list(trainer.iter_fit())
    assert isinstance(events[-1], TrainingFinished)
    return trainer, [e.message for e in events if isinstance(e, Log)]


def test_a_scribble_run_saves_its_forest_and_predicts_the_average(tmp_path):
    items = scribbled_items()
    _, logs = run(tmp_path, items)
    assert any(line.startswith("pixel forest: fitted on") for line in logs)
    assert FOREST_KEY in load_checkpoint(tmp_path / "m.pt").extra
    blended = Predictor.from_checkpoint(tmp_path / "m.pt", device="cpu")
    assert blended.forest is not None
    network_alone = Predictor.from_checkpoint(tmp_path / "m.pt", device="cpu")
    network_alone.forest = None
    image = items[0].image[0]
    together = blended.predict(image).probabilities
    forest = blended.forest.probabilities(normalize_for_network(image[:, :, None]))
    np.testing.assert_allclose(together, (network_alone.predict(image).probabilities + forest) / 2, atol=1e-4)


@pytest.mark.parametrize("items, changes", [(blob_items(2), {}), (scribbled_items(), {"scribble_forest": False})])
def test_dense_labels_or_the_setting_off_fit_no_forest(tmp_path, items, changes):
    _, logs = run(tmp_path, items, **changes)
    assert FOREST_KEY not in load_checkpoint(tmp_path / "m.pt").extra
    assert Predictor.from_checkpoint(tmp_path / "m.pt", device="cpu").forest is None
    assert not any("pixel forest" in line for line in logs)


def test_without_scikit_learn_the_run_says_so_and_trains_the_network_alone(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    trainer, logs = run(tmp_path, scribbled_items())
    assert trainer.forest is None
    assert any("scikit-learn is not installed" in line for line in logs)
    assert FOREST_KEY not in load_checkpoint(tmp_path / "m.pt").extra


def test_info_names_the_forest(tmp_path, capsys):
    from unet_studio.cli import main

    run(tmp_path, scribbled_items())
    assert main(["info", str(tmp_path / "m.pt")]) in (0, None)
    assert "forest     50 trees of depth" in capsys.readouterr().out
