"""Flip consistency on unlabelled pixels (FixMatch-style pseudo-labels) for training on sparse scribbles.

Scribbles label a few per cent of the pixels; the cross-entropy says nothing about the rest. Here the network
also predicts the batch mirrored left-right (no gradient); where that prediction, mirrored back, is confident
(top probability >= `threshold`), its class becomes the target of an unlabelled pixel in the ordinary view.
The term is ramped in once the network has learnt something from the labels (before that its confident
pixels are mostly wrong), and a batch without unlabelled pixels (dense labels) costs nothing.
Off by default (TrainConfig.consistency_weight = 0): a step costs 1.38x, and at the same seconds on ISBI
scribbles it lifted only the sparsest annotator style (benchmarks/scribble_styles.py; README, Measured).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F

from unet_studio.training.config import TrainConfig
from unet_studio.training.losses import IGNORE
from unet_studio.training.schedule import WarmupCosine

RAMP = (0.1, 0.4)  # of the budget used: off before 10 %, full weight from 40 %
RAMP_STEPS = 1000  # without a step or time budget, the budget the ramp is measured against


def ramp_factor(schedule: WarmupCosine, step: int, elapsed_s: float) -> float:
    """0..1: how much of an unlabelled-pixel term (this one, and smoothness.py's) applies at this point of the
    schedule's budget (without a budget, step `step` of RAMP_STEPS): the Trainer's `unlabelled_ramp`."""
    budgeted = schedule.total_steps is not None or schedule.total_seconds is not None
    used = schedule.progress(step, elapsed_s) if budgeted else step / RAMP_STEPS
    start, end = RAMP
    return min(1.0, max(0.0, (used - start) / (end - start)))


def flip_pseudo_labels(net: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, targets: torch.Tensor,
                       threshold: float, autocast: Callable[[], AbstractContextManager]) -> torch.Tensor:
    """Targets for the unlabelled pixels (target < 0) from the network's mirrored view where it is confident:
    the mirrored prediction's class there, IGNORE elsewhere; labelled pixels are IGNORE too (the ordinary
    loss has them)."""
    with torch.no_grad(), autocast():
        mirrored = net(torch.flip(images, dims=(-1,)))
    if isinstance(mirrored, (list, tuple)):  # deep supervision: the final output
        mirrored = mirrored[-1]
    probabilities = torch.softmax(torch.flip(mirrored.float(), dims=(-1,)), dim=1)
    confidence, label = probabilities.max(dim=1)
    keep = (targets < 0) & (confidence >= threshold)
    return torch.where(keep, label, torch.full_like(label, IGNORE))


def consistency_loss(logits: torch.Tensor, pseudo: torch.Tensor, unlabelled: int) -> torch.Tensor:
    """Cross-entropy of `logits` towards the pseudo-labels, summed and divided by the `unlabelled` pixel count
    (FixMatch's mean over all unlabelled pixels, unconfident ones contributing 0); 0 when none is confident."""
    if not (pseudo >= 0).any():
        return logits.float().sum() * 0.0
    per_pixel = F.cross_entropy(logits.float(), pseudo, ignore_index=IGNORE, reduction="sum")
    return per_pixel / max(1, unlabelled)


def unlabelled_term(net, images: torch.Tensor, logits, targets: torch.Tensor, config: TrainConfig, ramp: float,
                    autocast) -> torch.Tensor | float:
    """config.consistency_weight x `ramp` x consistency_loss for this batch, or 0.0 when that weight is 0 or
    no pixel is unlabelled (nothing extra is computed then)."""
    weight = config.consistency_weight * ramp
    if weight <= 0 or not bool((targets < 0).any()):
        return 0.0
    unlabelled = int((targets < 0).sum())
    final = logits[-1] if isinstance(logits, (list, tuple)) else logits
    pseudo = flip_pseudo_labels(net, images, targets, config.consistency_threshold, autocast)
    with torch.autocast(device_type=final.device.type, enabled=False):
        return weight * consistency_loss(final, pseudo, unlabelled)
