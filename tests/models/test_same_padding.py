"""Every architecture with 'same' padding: output shape equals input shape, for any H and W."""

import pytest
import torch

from unet_studio.models import ModelConfig, build_model

ARCH_VARIANTS = {
    "unet": {"arch": "unet"},
    "unet-bilinear": {"arch": "unet", "upsample": "bilinear"},
    "unetpp": {"arch": "unetpp"},
    "unetpp-deep-supervision": {"arch": "unetpp", "deep_supervision": True},
    "attention-unet": {"arch": "attention-unet"},
}
SIZES = [(61, 67), (32, 32), (1, 37), (100, 3)]


def tiny_model(variant: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(base_channels=4, **{**ARCH_VARIANTS[variant], **kwargs}))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("num_classes", [2, 4])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("variant", list(ARCH_VARIANTS))
@torch.no_grad()
def test_eval_output_shape_equals_input_shape(variant, depth, num_classes, size):
    model = tiny_model(variant, depth=depth, num_classes=num_classes).eval()
    logits = model(torch.randn(2, 1, *size))
    assert model.margin == 0
    assert logits.shape == (2, num_classes, *size)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("norm", ["batch", "instance", "group", "none"])
@pytest.mark.parametrize("variant", list(ARCH_VARIANTS))
def test_train_mode_output_shape_for_every_norm(variant, norm):
    model = tiny_model(variant, depth=3, num_classes=3, norm=norm, in_channels=2).train()
    output = model(torch.randn(2, 2, 45, 29))
    outputs = output if isinstance(output, list) else [output]
    assert all(logits.shape == (2, 3, 45, 29) for logits in outputs)


@pytest.mark.parametrize("depth", [1, 3])
def test_unetpp_deep_supervision_list_in_training_tensor_in_eval(depth):
    model = tiny_model("unetpp-deep-supervision", depth=depth).train()
    x = torch.randn(2, 1, 40, 24)
    outputs = model(x)
    assert isinstance(outputs, list) and len(outputs) == depth
    assert all(logits.shape == (2, 2, 40, 24) for logits in outputs)
    model.eval()
    with torch.no_grad():
        final = model(x)
        assert isinstance(final, torch.Tensor)
        torch.testing.assert_close(final, model.heads[-1](_top_right_node(model, x))[..., :40, :24])


def _top_right_node(model, x):
    """Re-runs the network in eval mode and returns the last top-row node, to check which head eval uses."""
    features = {}
    handle = model.nested[0][-1].register_forward_hook(lambda module, args, out: features.update(node=out))
    model(x)
    handle.remove()
    return features["node"]


def test_unetpp_without_deep_supervision_returns_tensor_in_training():
    model = tiny_model("unetpp", depth=2).train()
    assert isinstance(model(torch.randn(2, 1, 16, 16)), torch.Tensor)


@pytest.mark.parametrize("variant", ["unet", "unetpp", "attention-unet"])
@torch.no_grad()
def test_multichannel_input_and_odd_base_channels(variant):
    config = ModelConfig(arch=variant, depth=2, in_channels=3, num_classes=5, base_channels=3, norm="group")
    model = build_model(config).eval()
    assert model(torch.randn(1, 3, 33, 18)).shape == (1, 5, 33, 18)
