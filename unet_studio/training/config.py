"""TrainConfig: every training setting in one frozen, JSON-friendly dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from unet_studio.core.errors import TrainingError
from unet_studio.data.augment_config import AugmentConfig

LOSSES = ("ce", "dice", "ce+dice")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Limits (epochs, max_steps, max_seconds) combine: whichever comes first ends the run;
    before any of them, convergence ends it (training/stopping.py: `early_stopping_patience` epochs without
    progress, then an anneal). `num_threads=None` keeps the caller's torch thread count."""

    loss: str = "ce+dice"
    border_weight: bool = False
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

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem:
            raise TrainingError("training settings", problem)

    def _problem(self) -> str | None:
        """The first invalid setting as a one-line reason, or None."""
        if self.loss not in LOSSES:
            return f"loss {self.loss!r} unknown, choose one of {', '.join(LOSSES)}"
        if self.device.partition(":")[0] not in DEVICES:
            return f"device {self.device!r} unknown, choose one of {', '.join(DEVICES)}"
        positive = {"batch_size": self.batch_size, "patch_size": self.patch_size, "lr": self.lr,
                    "steps_per_epoch": self.steps_per_epoch, "early_stopping_patience": self.early_stopping_patience}
        optional = {"epochs": self.epochs, "max_seconds": self.max_seconds, "max_steps": self.max_steps,
                    "num_threads": self.num_threads}
        positive.update({name: value for name, value in optional.items() if value is not None})
        for name, value in positive.items():
            if value <= 0:
                return f"{name} must be positive (got {value})"
        if self.weight_decay < 0:
            return f"weight_decay must not be negative (got {self.weight_decay})"
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

    def with_changes(self, **changes: Any) -> TrainConfig:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)

