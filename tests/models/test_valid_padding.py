"""The paper's unpadded U-Net: margin, output size H - 2m for any large enough input, clear error if too small."""

import pytest
import torch

from unet_studio.core.errors import InputSizeError
from unet_studio.models import ModelConfig, build_model
from unet_studio.models.unet import valid_input_size, valid_margin, valid_output_size


def valid_unet(depth: int, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(padding="valid", depth=depth, base_channels=4, **kwargs)).eval()


def test_paper_geometry_572_to_388():
    assert valid_margin(4) == 92
    assert valid_output_size(572, 4) == 388
    assert valid_output_size(573, 4) is None
    assert valid_input_size(570, 4) == 572


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_margin_matches_output_of_every_accepted_size(depth):
    accepted = [size for size in range(1, 400) if valid_output_size(size, depth) is not None]
    assert accepted, "some sizes must fit"
    assert all(size - valid_output_size(size, depth) == 2 * valid_margin(depth) for size in accepted)
    steps = {b - a for a, b in zip(accepted, accepted[1:])}
    assert steps == {2**depth}


@pytest.mark.parametrize("num_classes", [2, 4])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@torch.no_grad()
def test_output_is_input_minus_twice_margin_for_any_size(depth, num_classes):
    model = valid_unet(depth, num_classes=num_classes)
    m = model.margin
    assert m == valid_margin(depth)
    for height, width in [(2 * m + 1, 2 * m + 1), (2 * m + 13, 2 * m + 6), (valid_input_size(2 * m + 9, depth),) * 2]:
        logits = model(torch.randn(1, 1, height, width))
        assert logits.shape == (1, num_classes, height - 2 * m, width - 2 * m)


@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@torch.no_grad()
def test_padding_leaves_top_left_outputs_unchanged(depth, upsample):
    """Output pixel i sees input pixels i .. i + 2m (+ pooling alignment), so internal bottom/right
    padding of a cropped input must not change outputs far from that edge (batch norm in eval is local)."""
    model = valid_unet(depth, upsample=upsample, norm="batch")
    size = valid_input_size(2 * model.margin + 40, depth)
    x = torch.randn(1, 1, size, size)
    full = model(x)
    cropped = model(x[..., : size - 5, : size - 3])
    keep_h = size - 5 - 2 * model.margin - 2**depth
    keep_w = size - 3 - 2 * model.margin - 2**depth
    torch.testing.assert_close(cropped[..., :keep_h, :keep_w], full[..., :keep_h, :keep_w])


@pytest.mark.parametrize("shape", [(16, 40), (40, 16), (5, 5)])
def test_too_small_input_raises_one_line_error(shape):
    model = valid_unet(1)
    with pytest.raises(InputSizeError, match=r"too small: depth 1 needs at least 17x17") as caught:
        model(torch.randn(1, 1, *shape))
    assert "\n" not in str(caught.value)


def test_valid_training_backward_gives_finite_grads():
    model = valid_unet(2, norm="batch").train()
    logits = model(torch.randn(2, 1, 70, 75))
    assert logits.shape == (2, 2, 70 - 2 * model.margin, 75 - 2 * model.margin)
    logits.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
