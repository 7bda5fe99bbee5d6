"""Progress of a training run for the panel: fraction done, ETA and a one-line summary."""

from __future__ import annotations

from dataclasses import dataclass

from unet_studio.training.config import TrainConfig
from unet_studio.training.events import EpochEnded, StepEnded


def format_seconds(seconds: float) -> str:
    """'42 s', '3 min 05 s' or '1 h 02 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass
class RunProgress:
    """Latest numbers of the run; fraction and ETA come from the time budget or the epoch/step budget."""

    config: TrainConfig
    step: int = 0
    epoch: int = 0
    elapsed_s: float = 0.0
    patches_per_s: float = 0.0
    loss: float | None = None
    dice: float | None = None

    def on_step(self, event: StepEnded) -> None:
        self.step, self.epoch, self.elapsed_s = event.step, event.epoch, event.elapsed_s
        rate = event.patches_per_s
        self.patches_per_s = rate if self.patches_per_s == 0 else 0.9 * self.patches_per_s + 0.1 * rate
        self.loss = event.loss

    def on_epoch(self, event: EpochEnded) -> None:
        self.elapsed_s = event.elapsed_s
        self.dice = event.val_metrics.get("mean_dice", self.dice)

    def fraction(self) -> float | None:
        """0..1 of the budget used (whichever limit ends first), None without any limit."""
        return self.config.budget_used(self.step, self.elapsed_s)

    def eta_s(self) -> float | None:
        fraction = self.fraction()
        if not fraction or fraction <= 0:
            return None
        return self.elapsed_s * (1 - fraction) / fraction

    def summary(self) -> str:
        parts = [f"epoch {self.epoch}", f"step {self.step}", f"{format_seconds(self.elapsed_s)} elapsed"]
        eta = self.eta_s()
        if eta is not None:
            parts.append(f"ETA {format_seconds(eta)}")
        parts.append(f"{self.patches_per_s:.1f} patches/s")
        if self.dice is not None:
            parts.append(f"val Dice {self.dice:.3f}")
        return " | ".join(parts)
