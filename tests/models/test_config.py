"""ModelConfig: round trips, presets and the one-line errors for bad configs."""

import dataclasses
import json

import pytest

from unet_studio.core.errors import ModelFileError, StudioError
from unet_studio.models import PRESETS, ModelConfig, build_model
from unet_studio.models.config import ARCHS, VOLUME_ARCHS


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(arch="unetpp", deep_supervision=True, depth=3, norm="group", upsample="bilinear"),
        ModelConfig(arch="attention-unet", in_channels=3, num_classes=5, dropout=0.25, norm="none"),
        ModelConfig(padding="valid", depth=2, base_channels=8, norm="instance"),
    ],
)
def test_to_dict_from_dict_round_trip_through_json(config):
    data = json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(data) == config


def test_from_dict_fills_missing_keys_with_defaults():
    assert ModelConfig.from_dict({"depth": 2}) == ModelConfig(depth=2)


BAD_CONFIGS = [
    ({"arch": "resnet"}, "unknown arch 'resnet'"),
    ({"norm": "layer"}, "unknown norm 'layer'"),
    ({"upsample": "nearest"}, "unknown upsample 'nearest'"),
    ({"padding": "full"}, "unknown padding 'full'"),
    ({"depth": 0}, "depth must be an integer >= 1"),
    ({"depth": 7}, "depth must be 1..6"),
    ({"depth": "4"}, "depth must be an integer"),
    ({"depth": True}, "depth must be an integer"),
    ({"depth": 2.0}, "depth must be an integer"),
    ({"base_channels": 0}, "base_channels must be an integer >= 1"),
    ({"num_classes": 1}, "num_classes must be an integer >= 2"),
    ({"in_channels": 0}, "in_channels must be an integer >= 1"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"dropout": -0.1}, "dropout must be in [0, 1)"),
    ({"dropout": "0.1"}, "dropout must be a number"),
    ({"deep_supervision": 1}, "deep_supervision must be true or false"),
    ({"arch": "unetpp", "padding": "valid"}, "padding 'valid' is only available for arch 'unet'"),
    ({"arch": "attention-unet", "padding": "valid"}, "padding 'valid' is only available for arch 'unet'"),
    ({"deep_supervision": True}, "deep_supervision is only available for arch 'unetpp'"),
    ({"channels": 32}, "unknown model config key(s): channels"),
]


@pytest.mark.parametrize(("data", "fragment"), BAD_CONFIGS)
def test_bad_configs_raise_one_line_model_file_error(data, fragment):
    with pytest.raises(ModelFileError) as caught:
        ModelConfig.from_dict(data, source="models/m1.pt")
    message = str(caught.value)
    assert message.startswith("models/m1.pt: ")
    assert fragment in message
    assert "\n" not in message
    assert isinstance(caught.value, StudioError)


def test_constructor_validates_too():
    with pytest.raises(ModelFileError, match=r"^model config: depth must be 1\.\.6, got 9$"):
        ModelConfig(depth=9)


def test_from_dict_rejects_non_mapping():
    with pytest.raises(ModelFileError, match="must be a mapping, got list"):
        ModelConfig.from_dict([1, 2], source="a.json")


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelConfig().depth = 3


def test_presets_cover_every_arch_with_partial_kwargs():
    assert set(PRESETS) == {"fast", "balanced", "accurate"}
    for preset in PRESETS.values():
        assert set(preset) == set(ARCHS + VOLUME_ARCHS)
        for kwargs in preset.values():
            assert set(kwargs) <= {"depth", "base_channels", "norm", "upsample"}
            ModelConfig(**kwargs)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("preset", ["fast", "balanced", "accurate"])
def test_from_preset_builds_a_model(preset, arch):
    config = ModelConfig.from_preset(preset, arch, num_classes=3)
    assert config.arch == arch and config.num_classes == 3
    assert config.depth == PRESETS[preset][arch]["depth"]
    model = build_model(config)
    assert model.config == config and model.margin == 0


def test_presets_grow_from_fast_to_accurate():
    sizes = [
        sum(p.numel() for p in build_model(ModelConfig.from_preset(name)).parameters())
        for name in ("fast", "balanced", "accurate")
    ]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_from_preset_rejects_unknown_names():
    with pytest.raises(ModelFileError, match="unknown preset 'huge'"):
        ModelConfig.from_preset("huge")
    with pytest.raises(ModelFileError, match="unknown arch 'segformer'"):
        ModelConfig.from_preset("fast", "segformer")
