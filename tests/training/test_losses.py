"""Losses on hand-computed cases (MONAI style): perfect, worst, a worked 2x2 case, empty and ignored pixels."""

import math

import numpy as np
import pytest
import torch

from unet_studio.training.losses import (
    class_weights_from_counts,
    combined_loss,
    masked_cross_entropy,
    soft_dice_loss,
)

LN3 = math.log(3.0)


def _two_by_two():
    """Class-1 minus class-0 logit d gives p1 = sigmoid(d): 1/2, 3/4, 1/4 on the three labelled pixels."""
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1] = torch.tensor([[0.0, LN3], [-LN3, 5.0]])
    target = torch.tensor([[[0, 1], [1, -1]]])
    return logits, target


def _confident(target: torch.Tensor, n_classes: int, right: bool, scale: float = 20.0) -> torch.Tensor:
    """Logits that put (almost) all probability on the target class, or on the next class when not right."""
    chosen = target.clamp(min=0) if right else (target.clamp(min=0) + 1) % n_classes
    return scale * torch.nn.functional.one_hot(chosen, n_classes).permute(0, 3, 1, 2).float()


WORKED_CE = [
    # (pixel weight, class weights, expected loss) for the 2x2 case; pixel (1,1) is unlabelled.
    (None, None, math.log(32 / 3) / 3),
    ([[2.0, 1.0], [1.0, 7.0]], None, (2 * math.log(2) + math.log(4 / 3) + math.log(4)) / 3),
    (None, [1.0, 3.0], (math.log(2) + 3 * math.log(4 / 3) + 3 * math.log(4)) / 3),
]


@pytest.mark.parametrize("pixel_weight, class_weights, expected", WORKED_CE)
def test_cross_entropy_worked_two_by_two(pixel_weight, class_weights, expected):
    logits, target = _two_by_two()
    weight = None if pixel_weight is None else torch.tensor([pixel_weight])
    cw = None if class_weights is None else torch.tensor(class_weights)
    loss = masked_cross_entropy(logits, target, weight=weight, class_weights=cw)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("include_background, expected", [(True, 1 - (0.4 + 4 / 7) / 2), (False, 3 / 7)])
def test_dice_worked_two_by_two(include_background, expected):
    logits, target = _two_by_two()
    loss = soft_dice_loss(logits, target, include_background=include_background)
    assert loss.item() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_dice_perfect_is_zero_and_worst_is_one(n_classes):
    target = torch.arange(4 * 6 * 6).reshape(4, 6, 6) % n_classes
    target[0, :2] = -1
    assert soft_dice_loss(_confident(target, n_classes, right=True), target).item() == pytest.approx(0, abs=1e-5)
    assert soft_dice_loss(_confident(target, n_classes, right=False), target).item() == pytest.approx(1, abs=1e-5)


def test_cross_entropy_perfect_is_zero_and_uniform_is_log_k():
    target = torch.tensor([[[0, 1, 2], [2, 1, -1]]])
    assert masked_cross_entropy(_confident(target, 3, right=True), target).item() == pytest.approx(0, abs=1e-6)
    uniform = torch.zeros(1, 3, 2, 3)
    assert masked_cross_entropy(uniform, target).item() == pytest.approx(math.log(3), rel=1e-6)


@pytest.mark.parametrize("kind", ["ce", "dice", "ce+dice"])
def test_all_unlabelled_gives_zero_and_finite_zero_gradient(kind):
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.full((2, 8, 8), -1)
    loss = combined_loss(logits, target, kind=kind, weight=torch.ones(2, 8, 8))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(logits.grad).all() and (logits.grad == 0).all()


def test_empty_foreground_in_prediction_and_target_scores_zero_dice():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    logits = _confident(target, 2, right=True, scale=40.0)  # foreground probability ~1e-18
    assert soft_dice_loss(logits, target, include_background=False).item() == pytest.approx(0, abs=1e-4)
    assert soft_dice_loss(logits, target, include_background=True).item() == pytest.approx(0, abs=1e-4)


@pytest.mark.parametrize("kind", ["ce", "dice", "ce+dice"])
def test_unlabelled_pixels_have_no_influence(kind):
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (2, 8, 8), generator=gen)
    target[:, 2:5, 1:6] = -1
    logits = torch.randn(2, 3, 8, 8, generator=gen, requires_grad=True)
    loss = combined_loss(logits, target, kind=kind)
    loss.backward()
    assert (logits.grad[:, :, 2:5, 1:6] == 0).all()
    changed = logits.detach().clone()
    changed[:, :, 2:5, 1:6] = 100 * torch.randn(2, 3, 3, 5, generator=gen)
    assert combined_loss(changed, target, kind=kind).item() == pytest.approx(loss.item(), rel=1e-6)


def test_pixel_weights_scale_cross_entropy():
    gen = torch.Generator().manual_seed(1)
    target = torch.randint(-1, 2, (2, 6, 6), generator=gen)
    logits = torch.randn(2, 2, 6, 6, generator=gen)
    plain = masked_cross_entropy(logits, target)
    assert masked_cross_entropy(logits, target, weight=torch.full((2, 6, 6), 3.0)).item() == pytest.approx(
        3 * plain.item(), rel=1e-6
    )
    zero_on_unlabelled = torch.where(target >= 0, 1.0, 0.0)
    assert masked_cross_entropy(logits, target, weight=zero_on_unlabelled).item() == pytest.approx(plain.item())


def test_deep_supervision_list_is_averaged():
    logits, target = _two_by_two()
    other = torch.zeros_like(logits)
    expected = (combined_loss(logits, target, "ce").item() + math.log(2)) / 2
    assert combined_loss([logits, other], target, "ce").item() == pytest.approx(expected, rel=1e-6)


def test_losses_run_under_bf16_autocast_in_float32():
    logits, target = _two_by_two()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = combined_loss(logits.to(torch.bfloat16), target, "ce+dice")
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)


def test_class_weights_inverse_sqrt_frequency():
    # 16 background pixels, 4 of class 1, none of class 2
    weights = class_weights_from_counts(np.array([16, 4]), 3)
    assert weights[1].item() / weights[0].item() == pytest.approx(2.0)
    assert weights[2].item() == 0.0
    assert (16 * weights[0] + 4 * weights[1]).item() / 20 == pytest.approx(1.0)
    assert (class_weights_from_counts(np.zeros(2), 2) == 0).all()


def test_bad_shapes_and_kind_are_refused():
    logits, target = _two_by_two()
    with pytest.raises(ValueError, match="target shape"):
        masked_cross_entropy(logits, target[:, :1])
    with pytest.raises(ValueError, match="unknown loss kind"):
        combined_loss(logits, target, kind="focal")
