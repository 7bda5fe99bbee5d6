"""3-D U-Net: output shape == input shape on odd Z/H/W, anisotropic pooling, backward, checkpoint round-trip."""

import pytest
import torch

from unet_studio.core.errors import ModelFileError
from unet_studio.models import ModelConfig, build_model
from unet_studio.models.checkpoint import load_checkpoint, save_checkpoint
from unet_studio.models.unet3d import padded_volume_size, pool_factors, volume_alignment

SIZES = [(5, 31, 29), (1, 17, 23), (9, 8, 8), (3, 1, 40)]


def tiny_3d(**kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(**{"arch": "unet3d", "base_channels": 4, "depth": 2, **kwargs}))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("xy_pool_levels", [0, 1, 2])
@pytest.mark.parametrize("num_classes", [2, 3])
@torch.no_grad()
def test_output_shape_equals_input_shape_on_odd_sizes(size, xy_pool_levels, num_classes):
    model = tiny_3d(xy_pool_levels=xy_pool_levels, num_classes=num_classes).eval()
    logits = model(torch.randn(1, 1, *size))
    assert logits.shape == (1, num_classes, *size)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("norm", ["batch", "instance", "group", "none"])
@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
def test_backward_for_every_norm_and_upsample(norm, upsample):
    model = tiny_3d(norm=norm, upsample=upsample, in_channels=2, xy_pool_levels=1).train()
    output = model(torch.randn(2, 2, 6, 20, 18))
    assert output.shape == (2, 2, 6, 20, 18)
    output.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_xy_only_levels_keep_z_and_align_only_the_pooled_axes():
    config = ModelConfig(arch="unet3d", depth=3, xy_pool_levels=2)
    assert pool_factors(config) == [(1, 2, 2), (1, 2, 2), (2, 2, 2)]
    assert volume_alignment(config) == (2, 8, 8)
    assert padded_volume_size((5, 61, 8), config) == (6, 64, 16)
    flat = ModelConfig(arch="unet3d", depth=3, xy_pool_levels=3)
    assert volume_alignment(flat) == (1, 8, 8)
    assert padded_volume_size((1, 9, 9), flat) == (1, 16, 16)


def test_pooling_in_xy_only_leaves_depth_alone_inside_the_network():
    model = tiny_3d(depth=2, xy_pool_levels=2).eval()
    deepest = model.downs[1](model.downs[0](model.inc(torch.randn(1, 1, 3, 16, 16))))
    assert deepest.shape[-3:] == (3, 4, 4)


@pytest.mark.parametrize("overrides, message", [
    ({"xy_pool_levels": 3}, "xy_pool_levels must be an integer in 0..depth"),
    ({"xy_pool_levels": -1}, "xy_pool_levels must be an integer in 0..depth"),
    ({"arch": "unet", "xy_pool_levels": 1}, "xy_pool_levels is only available for arch 'unet3d'"),
    ({"padding": "valid"}, "padding 'valid' is only available for arch 'unet'"),
])
def test_bad_3d_settings_are_refused_in_one_line(overrides, message):
    with pytest.raises(ModelFileError, match=message):
        ModelConfig(**{"arch": "unet3d", "depth": 2, **overrides})


def test_preset_gives_a_3d_config():
    config = ModelConfig.from_preset("fast", arch="unet3d", xy_pool_levels=1)
    assert (config.arch, config.depth, config.base_channels, config.xy_pool_levels) == ("unet3d", 2, 8, 1)


@torch.no_grad()
def test_checkpoint_round_trip_gives_identical_output(tmp_path):
    model = tiny_3d(xy_pool_levels=1, num_classes=3).eval()
    path = save_checkpoint(tmp_path / "m3d.pt", model, model.config, [], None, {}, {})
    loaded = load_checkpoint(path)
    assert loaded.model_config == model.config
    assert loaded.model_config.arch == "unet3d"
    x = torch.randn(1, 1, 4, 24, 20)
    assert torch.equal(loaded.build_model()(x), model(x))
