"""When training has converged: the score stops improving by a margin, then a short learning-rate anneal.

Quality should not depend on the machine's speed, so a run ends on convergence and the time budget is only a
cap. The score (higher is better) is the validation Dice when there is one, else minus a loss (validation loss,
else training loss). An epoch counts as progress only when it beats the best so far by a margin (DICE_MARGIN
in Dice, or LOSS_MARGIN of the best loss), so noise in the score cannot keep a run alive forever. After `patience`
epochs without progress the learning rate is annealed to the schedule's floor over ANNEAL_EPOCHS (the
weights settle, as at the end of a full schedule), then the run ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DICE_MARGIN = 0.002
LOSS_MARGIN = 0.01
ANNEAL_EPOCHS = 3


def epoch_score(train_loss: float, val_loss: float | None, metrics: dict[str, float]) -> float:
    """Higher is better: mean foreground val Dice, else minus the val loss, else minus the train loss."""
    if "mean_dice" in metrics:
        return metrics["mean_dice"]
    return -(val_loss if val_loss is not None else train_loss)


@dataclass
class PlateauRule:
    """Feed it one score per epoch (`update`); `annealing` starts after `patience` epochs without progress
    and `finished` is true `anneal_epochs` epochs later."""

    patience: int
    anneal_epochs: int = ANNEAL_EPOCHS
    best: float | None = None
    stale: int = 0
    anneal_done: int | None = None
    is_loss: bool = False

    def progressed(self, score: float, is_loss: bool) -> bool:
        """Whether `score` beats the best so far by the margin (relative when the score is minus a loss)."""
        if self.best is None:
            return math.isfinite(score)
        return score > self.best + (LOSS_MARGIN * abs(self.best) if is_loss else DICE_MARGIN)

    def update(self, score: float, is_loss: bool) -> None:
        """Record one epoch's score: a Dice, or minus a loss (`is_loss`)."""
        self.is_loss = is_loss
        if self.anneal_done is not None:
            self.anneal_done += 1
            return
        if self.progressed(score, is_loss):
            self.best, self.stale = score, 0
        else:
            self.stale += 1
            if self.stale >= self.patience:
                self.anneal_done = 0

    @property
    def annealing(self) -> bool:
        return self.anneal_done is not None and not self.finished

    @property
    def finished(self) -> bool:
        return self.anneal_done is not None and self.anneal_done >= self.anneal_epochs

    def reason(self) -> str:
        what = "the loss" if self.is_loss else "validation Dice"
        return (f"converged: {what} stopped improving for {self.patience} epoch(s), then the learning rate was "
                f"annealed over {self.anneal_epochs}")


def anneal_lr(start_lr: float, final_lr: float, step_in_anneal: int, anneal_steps: int) -> float:
    """Cosine from `start_lr` down to `final_lr` over `anneal_steps` steps (then `final_lr`)."""
    progress = min(1.0, step_in_anneal / max(1, anneal_steps))
    return final_lr + (start_lr - final_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
