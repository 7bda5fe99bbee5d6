"""Progress of a training run for the panel: fraction done, ETA, a one-line summary, and what a budget buys."""

from __future__ import annotations

from dataclasses import dataclass

from unet_studio.models.config import ModelConfig
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


SPEED_KEY = "measured_training_speed"  # project setting: {speed key: steps per second of the last run}


def speed_key(model_config: ModelConfig, config: TrainConfig) -> str:
    """What a measured training speed depends on: the model, patch and batch size, device and precision."""
    m = model_config
    return (f"{m.arch}/d{m.depth}/c{m.base_channels}/{m.norm}/p{config.patch_size}/b{config.batch_size}/"
            f"{config.device}/amp{int(config.amp)}")


def measured_rate(history: dict) -> float | None:
    """Steps per second over a finished run (validation and previews included), or None if too short."""
    steps, seconds = (history.get("steps") or [0])[-1], (history.get("seconds") or [0.0])[-1]
    return steps / seconds if steps >= 3 and seconds > 0 else None


def budget_summary(config: TrainConfig, steps_per_s: float | None) -> str:
    """What the budget buys on this machine, from the speed measured in an earlier run with these settings."""
    if not steps_per_s:
        return "Speed on this machine not measured yet: the first run measures it."
    per_epoch = config.steps_per_epoch
    if config.max_seconds:
        steps = int(config.max_seconds * steps_per_s)
        if config.max_steps is not None:
            steps = min(steps, config.max_steps)
        epochs = steps / per_epoch
        return (f"{format_seconds(config.max_seconds)} buys about {steps} steps ({epochs:.1f} epochs of "
                f"{per_epoch}) on this machine, at the speed measured last time ({steps_per_s:.2f} steps/s).")
    total = config.step_budget()
    if total is None:
        return f"Measured speed on this machine: {steps_per_s:.2f} steps/s."
    return (f"{total} steps take about {format_seconds(total / steps_per_s)} on this machine, at the speed "
            f"measured last time ({steps_per_s:.2f} steps/s).")
