"""TrainConfig: defaults from the contract, JSON round trip, one-line errors for bad settings."""

import json

import pytest

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.training.config import TrainConfig


def test_defaults_follow_the_contract():
    config = TrainConfig()
    assert (config.loss, config.batch_size, config.patch_size, config.lr) == ("ce+dice", 4, 256, 1e-3)
    assert (config.epochs, config.max_seconds, config.max_steps) == (None, None, None)
    assert config.class_balance is True and config.num_threads is None and config.device == "auto"
    assert config.augment == AugmentConfig()


def test_round_trip_through_json():
    config = TrainConfig(batch_size=2, max_steps=30, augment=AugmentConfig.preset("light"), num_threads=1)
    data = json.loads(json.dumps(config.to_dict()))
    assert TrainConfig.from_dict(data) == config


@pytest.mark.parametrize("changes, reason", [
    ({"loss": "focal"}, "loss 'focal' unknown"),
    ({"batch_size": 0}, "batch_size must be positive"),
    ({"max_steps": -1}, "max_steps must be positive"),
    ({"val_fraction": 1.0}, "val_fraction must be in"),
    ({"device": "tpu"}, "device 'tpu' unknown"),
    ({"weight_decay": -0.1}, "weight_decay must not be negative"),
])
def test_bad_settings_raise_one_line_errors(changes, reason):
    with pytest.raises(TrainingError, match=reason) as caught:
        TrainConfig(**changes)
    assert str(caught.value).startswith("training settings: ")


def test_unknown_keys_and_bad_augment_are_refused():
    with pytest.raises(TrainingError, match="unknown setting"):
        TrainConfig.from_dict({"batchsize": 3})
    with pytest.raises(TrainingError, match="flip_p"):
        TrainConfig.from_dict({"augment": {"flip_p": 2.0}})


def test_budget_used_follows_the_limit_nearest_to_ending():
    # 3 epochs x 10 steps = 30 steps, or 20 steps, or 60 s: whichever is further used up
    config = TrainConfig(epochs=3, steps_per_epoch=10, max_steps=20, max_seconds=60.0)
    assert config.step_budget() == 20
    assert config.budget_used(5, 30.0) == pytest.approx(0.5) and config.budget_used(15, 30.0) == pytest.approx(0.75)
    assert config.budget_used(40, 0.0) == 1.0
    assert TrainConfig().step_budget() is None and TrainConfig().budget_used(100, 100.0) is None
