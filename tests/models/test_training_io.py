"""Backward passes, state_dict round trips, channels_last and bf16 autocast for every architecture."""


import pytest
import torch
import torch.nn.functional as F

from unet_studio.models import ModelConfig, build_model

VARIANTS = {
    "unet": {"arch": "unet"},
    "unet-valid": {"arch": "unet", "padding": "valid"},
    "unet-bilinear": {"arch": "unet", "upsample": "bilinear", "dropout": 0.2},
    "unetpp": {"arch": "unetpp"},
    "unetpp-deep-supervision": {"arch": "unetpp", "deep_supervision": True},
    "attention-unet": {"arch": "attention-unet"},
}


def tiny_model(variant: str, seed: int = 0, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelConfig(base_channels=4, **{**VARIANTS[variant], **kwargs}))


def input_for(model, batch: int = 2) -> torch.Tensor:
    extra = 2 * model.margin
    return torch.randn(batch, model.config.in_channels, 37 + extra, 42 + extra)


def total_loss(output) -> torch.Tensor:
    outputs = output if isinstance(output, list) else [output]
    target = torch.zeros(outputs[0].shape[0], *outputs[0].shape[2:], dtype=torch.long)
    return sum(F.cross_entropy(logits.float(), target) for logits in outputs)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_backward_gives_finite_grads_on_every_parameter(variant, depth):
    model = tiny_model(variant, depth=depth, num_classes=3).train()
    total_loss(model(input_for(model))).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name} has a non-finite gradient"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_state_dict_round_trip_gives_identical_eval_outputs(variant, tmp_path):
    model = tiny_model(variant, depth=2, num_classes=4).train()
    with torch.no_grad():
        model(input_for(model))  # moves batch-norm running statistics away from their initial values
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    fresh = tiny_model(variant, seed=1, depth=2, num_classes=4)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    fresh.eval()
    x = input_for(model)
    with torch.no_grad():
        assert not torch.equal(tiny_model(variant, seed=1, depth=2, num_classes=4).eval()(x), model(x))
        assert torch.equal(fresh(x), model(x))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_channels_last_with_bf16_autocast_trains_and_predicts(variant):
    model = tiny_model(variant, depth=3).to(memory_format=torch.channels_last).train()
    x = input_for(model).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(x)
        loss = total_loss(output)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
    reference = model(x.contiguous()).detach()
    assert logits.shape == reference.shape
    torch.testing.assert_close(logits.float(), reference, atol=0.1, rtol=0.1)


@pytest.mark.parametrize("variant", ["unet", "unetpp", "attention-unet"])
def test_eval_output_does_not_depend_on_batch_neighbours(variant):
    model = tiny_model(variant, depth=2).eval()
    x = torch.randn(3, 1, 30, 30)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[1:2], model(x[1:2]))
