"""Segmentation losses on sparse labels: target -1 marks unlabelled pixels, which never contribute.

All losses are computed in float32 with autocast switched off, so they are safe under bf16 autocast, and
they return 0 (with a finite, zero gradient) when a batch holds no labelled pixel at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from unet_studio.training.config import LOSSES

IGNORE = -1


def _check_shapes(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> None:
    """Programming errors, not user errors: shapes must agree before any loss is computed."""
    if logits.ndim not in (4, 5):
        raise ValueError(f"logits must be (N, K, H, W) or (N, K, Z, H, W), got shape {tuple(logits.shape)}")
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}")
    if weight is not None and tuple(weight.shape) != expected:
        raise ValueError(f"weight shape {tuple(weight.shape)} does not match logits {tuple(logits.shape)}")


def _ignored_as_minus_one(target: torch.Tensor) -> torch.Tensor:
    """Any negative label means unlabelled; normalise them all to -1."""
    target = target.long()
    return torch.where(target < 0, torch.full_like(target, IGNORE), target)


def masked_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over labelled pixels of class_weights[t] * weight * -log p_t; 0 when nothing is labelled.

    Dividing by the number of labelled pixels (not by the sum of weights) keeps the pixel weight map's
    meaning: a pixel of weight 2 counts twice, as in the U-Net paper's weighted energy.
    """
    _check_shapes(logits, target, weight)
    with torch.autocast(device_type=logits.device.type, enabled=False):
        target = _ignored_as_minus_one(target)
        cw = None if class_weights is None else class_weights.to(logits.device, torch.float32)
        if cw is not None and cw.shape != (logits.shape[1],):
            raise ValueError(f"class_weights must have {logits.shape[1]} entries, got {tuple(cw.shape)}")
        per_pixel = F.cross_entropy(logits.float(), target, weight=cw, ignore_index=IGNORE, reduction="none")
        if weight is not None:
            per_pixel = per_pixel * weight.to(per_pixel.device, torch.float32)
        n_labelled = (target >= 0).sum().clamp(min=1)
        return per_pixel.sum() / n_labelled


def soft_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    include_background: bool = True,
    smooth: float = 1e-5,
) -> torch.Tensor:
    """1 - mean over classes of the soft Dice of softmax(logits), counted on labelled pixels only.

    Sums run over the whole batch (batch Dice), which is steadier with sparse scribbles. `smooth` sits in
    numerator and denominator, so a class absent from both prediction and target scores Dice 1 (loss 0).
    """
    _check_shapes(logits, target, None)
    with torch.autocast(device_type=logits.device.type, enabled=False):
        target = _ignored_as_minus_one(target)
        n_classes = logits.shape[1]
        labelled = (target >= 0).unsqueeze(1).float()
        probs = torch.softmax(logits.float(), dim=1) * labelled
        one_hot = F.one_hot(target.clamp(min=0), n_classes).movedim(-1, 1).float() * labelled
        if not include_background and n_classes > 1:
            probs, one_hot = probs[:, 1:], one_hot[:, 1:]
        dims = (0, *range(2, logits.ndim))
        intersection = (probs * one_hot).sum(dims)
        denominator = probs.sum(dims) + one_hot.sum(dims)
        dice = (2.0 * intersection + smooth) / (denominator + smooth)
        return 1.0 - dice.mean()


def class_weights_from_counts(counts: torch.Tensor | np.ndarray, num_classes: int) -> torch.Tensor:
    """Per-class weights proportional to 1/sqrt(frequency), from labelled-pixel counts per class (e.g.
    data.batches.count_labelled), mean weight per labelled pixel 1. Classes with no labelled pixel get weight
    0 (they cannot appear as a target); all zeros when nothing is labelled."""
    padded = torch.zeros(num_classes, dtype=torch.float64)
    given = torch.as_tensor(counts, dtype=torch.float64).reshape(-1)[:num_classes]
    padded[: given.numel()] = given
    weights = torch.zeros(num_classes, dtype=torch.float64)
    present = padded > 0
    if not present.any():
        return weights.float()
    weights[present] = padded[present].rsqrt()
    weights *= padded.sum() / (weights * padded).sum()
    return weights.float()


def _single_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    kind: str,
    weight: torch.Tensor | None,
    class_weights: torch.Tensor | None,
) -> torch.Tensor:
    if kind == "ce":
        return masked_cross_entropy(logits, target, weight, class_weights)
    if kind == "dice":
        return soft_dice_loss(logits, target)
    return masked_cross_entropy(logits, target, weight, class_weights) + soft_dice_loss(logits, target)


def combined_loss(
    logits: torch.Tensor | Sequence[torch.Tensor],
    target: torch.Tensor,
    kind: str = "ce+dice",
    weight: torch.Tensor | None = None,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """The training loss named by `kind`; a list of logits (deep supervision) gives the mean of its losses.

    The pixel weight map and class weights apply to the cross-entropy term; Dice is unweighted.
    """
    if kind not in LOSSES:
        raise ValueError(f"unknown loss kind {kind!r}; expected one of {', '.join(LOSSES)}")
    outputs = [logits] if isinstance(logits, torch.Tensor) else list(logits)
    if not outputs:
        raise ValueError("combined_loss needs at least one logits tensor")
    losses = [_single_loss(out, target, kind, weight, class_weights) for out in outputs]
    return torch.stack(losses).mean()
