"""`train`'s loss options reach the TrainConfig: --border-weight, which pixels fill its gaps, --smoothness."""

import pytest

from unet_studio.cli.main import build_parser
from unet_studio.cli.train import configs_from_args


def _config(*options):
    args = build_parser().parse_args(["train", "--images", "i", "--labels", "l", "--out", "m.pt", *options])
    return configs_from_args(args)[1]


def test_border_weight_gaps_default_to_background_and_can_be_the_membranes():
    assert not _config().border_weight and _config().border_weight_gaps == "background"
    config = _config("--border-weight", "--border-weight-gaps", "foreground")
    assert config.border_weight and config.border_weight_gaps == "foreground"


def test_unknown_border_weight_gaps_are_refused(capsys):
    with pytest.raises(SystemExit):
        _config("--border-weight-gaps", "cells")
    assert "border-weight-gaps" in capsys.readouterr().err


def test_smoothness_defaults_to_the_config_and_zero_turns_it_off():
    from unet_studio.training.config import TrainConfig

    assert _config().smoothness_weight == TrainConfig.smoothness_weight
    assert _config("--smoothness", "0").smoothness_weight == 0.0
    assert _config("--smoothness", "2.5").smoothness_weight == 2.5
