"""Learning-rate schedule: linear warm-up, then cosine decay over the step or wall-clock budget."""

from __future__ import annotations

import math
from dataclasses import dataclass

from unet_studio.training.config import budget_fraction

WARMUP_FRACTION = 0.05
MAX_WARMUP_STEPS = 200
FINAL_FACTOR = 0.02


@dataclass(frozen=True)
class WarmupCosine:
    """lr(step, elapsed_s): warm-up over `warmup_steps`, then cosine from `base_lr` down to
    `FINAL_FACTOR * base_lr` as the budget is used. The budget is `total_steps` and/or `total_seconds`
    (whichever is further used up); with neither, the rate stays at `base_lr` after warm-up."""

    base_lr: float
    warmup_steps: int
    total_steps: int | None = None
    total_seconds: float | None = None

    @classmethod
    def for_budget(cls, base_lr: float, total_steps: int | None, total_seconds: float | None,
                   steps_per_epoch: int) -> WarmupCosine:
        """Warm-up of 5% of the step budget (at most 200 steps), or half an epoch when steps are unbounded."""
        planned = total_steps if total_steps is not None else steps_per_epoch * 10
        warmup = max(1, min(MAX_WARMUP_STEPS, round(WARMUP_FRACTION * planned)))
        return cls(base_lr, warmup, total_steps, total_seconds)

    def progress(self, step: int, elapsed_s: float) -> float:
        """Fraction 0..1 of the budget used (0 without a budget)."""
        return budget_fraction(step, elapsed_s, self.total_steps, self.total_seconds) or 0.0

    def lr(self, step: int, elapsed_s: float = 0.0) -> float:
        """Rate for optimiser step number `step` (0-based) taken `elapsed_s` seconds into training."""
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * self.progress(step, elapsed_s)))
        return self.base_lr * (FINAL_FACTOR + (1.0 - FINAL_FACTOR) * cosine)
