"""TrainConfig: every training setting in one frozen, JSON-friendly dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from unet_studio.core.errors import TrainingError
from unet_studio.core.instance_targets import BORDER_WIDTH, RECIPES, TOUCHING_BORDER
from unet_studio.data.augment_config import AugmentConfig
from unet_studio.data.weights import GAPS

LOSSES = ("ce", "dice", "ce+dice")  # the kinds training/losses.combined_loss knows
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Limits (epochs, max_steps, max_seconds) combine: whichever comes first ends the run;
    before any of them, convergence ends it (training/stopping.py: `early_stopping_patience` epochs without
    progress, then an anneal). `num_threads=None` keeps the caller's torch thread count."""

    loss: str = "ce+dice"
    border_weight: bool = False
    border_weight_gaps: str = "background"  # "foreground": painted membranes are the gaps between cells (weights.py)
    batch_size: int = 4
    patch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int | None = None
    max_seconds: float | None = None
    max_steps: int | None = None
    steps_per_epoch: int = 50
    val_fraction: float = 0.2
    early_stopping_patience: int = 10
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    class_balance: bool = True
    num_threads: int | None = None
    border_width: int = BORDER_WIDTH  # px of the touching-border class, under instance_target touching-border
    instance_target: str = TOUCHING_BORDER  # what instance labels train: classes + touching border, or the classes
    choose_flips: bool = True  # semantic runs: keep test-time flips on when they pay on validation (flip_choice.py)
    consistency_weight: float = 0.0  # flip-consistency pseudo-labels on unlabelled pixels (training/consistency.py)
    consistency_threshold: float = 0.9  # the mirrored view's confidence a pseudo-label needs
    smoothness_weight: float = 8.0  # like-looking neighbours take one class, where pixels are unlabelled (smoothness.py)
    smoothness_sigma: float = 0.25  # the intensity difference (in each patch's spreads) at which that pull fades
    smoothness_blur: float = 1.0  # px of Gaussian smoothing of the image the pull reads its likeness on
    scribble_forest: bool = True  # scribbles: fit a pixel forest and average it with the network (scribble_forest.py)

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise TrainingError("training settings", problem)

    def _problem(self) -> str | None:
        """The first invalid setting as a one-line reason, or None."""
        if self.loss not in LOSSES:
            return f"loss {self.loss!r} unknown, choose one of {', '.join(LOSSES)}"
        if self.instance_target not in RECIPES:
            return f"instance target {self.instance_target!r} unknown, choose one of {', '.join(RECIPES)}"
        if self.border_weight_gaps not in GAPS:
            return f"border weight gaps {self.border_weight_gaps!r} unknown, choose one of {', '.join(GAPS)}"
        if self.device.partition(":")[0] not in DEVICES:
            return f"device {self.device!r} unknown, choose one of {', '.join(DEVICES)}"
        positive = {"batch_size": self.batch_size, "patch_size": self.patch_size, "lr": self.lr,
                    "steps_per_epoch": self.steps_per_epoch, "early_stopping_patience": self.early_stopping_patience,
                    "border_width": self.border_width}
        optional = {"epochs": self.epochs, "max_seconds": self.max_seconds, "max_steps": self.max_steps,
                    "num_threads": self.num_threads}
        positive.update({name: value for name, value in optional.items() if value is not None})
        for name, value in positive.items():
            if value <= 0:
                return f"{name} must be positive (got {value})"
        if self.weight_decay < 0:
            return f"weight_decay must not be negative (got {self.weight_decay})"
        if self.consistency_weight < 0:
            return f"consistency_weight must not be negative (got {self.consistency_weight})"
        if self.smoothness_weight < 0 or self.smoothness_sigma <= 0 or self.smoothness_blur < 0:
            return (f"smoothness_weight must not be negative and smoothness_sigma must be positive (got "
                    f"{self.smoothness_weight}, {self.smoothness_sigma})")
        if not 0 < self.consistency_threshold <= 1:
            return f"consistency_threshold must be in (0, 1] (got {self.consistency_threshold})"
        if not 0 <= self.val_fraction < 1:
            return f"val_fraction must be in [0, 1) (got {self.val_fraction})"
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON and checkpoint safe)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "augment"}
        data["augment"] = self.augment.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_dict; unknown keys are refused so typos do not pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError("training settings", f"unknown setting(s) {', '.join(unknown)}")
        values = dict(data)
        try:
            if isinstance(values.get("augment"), dict):
                values["augment"] = AugmentConfig.from_dict(values["augment"])
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise TrainingError("training settings", str(error)) from error

    def step_budget(self) -> int | None:
        """Steps the run may take: epochs x steps_per_epoch or max_steps, whichever is fewer; None: unbounded."""
        by_epochs = self.epochs * self.steps_per_epoch if self.epochs is not None else None
        limits = [n for n in (by_epochs, self.max_steps) if n is not None]
        return min(limits) if limits else None

    def limit_reached(self, step: int, elapsed_s: float) -> str | None:
        """Why the run ends after `step` steps and `elapsed_s` seconds (max_steps, max_seconds), or None."""
        if self.max_steps is not None and step >= self.max_steps:
            return f"reached {self.max_steps} steps"
        if self.max_seconds is not None and elapsed_s >= self.max_seconds:
            return f"reached the time limit of {self.max_seconds:g} s"
        return None

    def budget_used(self, step: int, elapsed_s: float) -> float | None:
        """0..1 of the budget used after `step` steps and `elapsed_s` seconds (by the limit nearest to ending
        the run), None without a step or time limit: the CLI's and the panel's progress, and the ETA."""
        return budget_fraction(step, elapsed_s, self.step_budget(), self.max_seconds)


def budget_fraction(step: int, elapsed_s: float, total_steps: int | None, total_seconds: float | None) -> float | None:
    """0..1 of a step and/or time budget used (whichever is further used up); None without either."""
    used = []
    if total_steps:
        used.append(step / total_steps)
    if total_seconds:
        used.append(elapsed_s / total_seconds)
    return min(1.0, max(used)) if used else None

