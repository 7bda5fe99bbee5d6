"""Which model is active after a training run: the new one, unless it scores worse than the active one on
the same validation images, or its run was interrupted. Plain Python: the GUI's quality check applies it
once both models are scored, and the other model is then offered as a one-click switch.
"""

from __future__ import annotations

from dataclasses import dataclass

WORSE_MARGIN = 0.01  # mean Dice lower by more than this counts as worse


@dataclass(frozen=True)
class ModelCandidate:
    """A model and its mean foreground Dice on the validation images (None: not scored)."""

    model_id: str
    name: str
    mean_dice: float | None


@dataclass(frozen=True)
class ActiveChoice:
    """The model to make active, the other one (offered as a switch; None when there is none), and one
    line saying what was decided and why."""

    active: str
    alternative: str | None
    message: str


def is_worse(new: float | None, old: float | None, margin: float = WORSE_MARGIN) -> bool:
    """Whether mean Dice `new` is lower than `old` by more than `margin` (False when either is unknown)."""
    return new is not None and old is not None and new < old - margin


def _dice(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def choose_active_model(new: ModelCandidate, active: ModelCandidate | None, interrupted: bool = False,
                        where: str = "the validation images") -> ActiveChoice:
    """Keep `active` when `new` is worse on the same validation (`where` names it) or was interrupted;
    otherwise (better, as good, or not comparable) `new` becomes active."""
    if active is None or active.model_id == new.model_id:
        return ActiveChoice(new.model_id, None, f"{new.name} is now the active model")
    scores = f"mean Dice {_dice(new.mean_dice)} vs {_dice(active.mean_dice)} on {where}"
    if interrupted:
        return ActiveChoice(active.model_id, new.model_id,
                            f"{active.name} stays the active model: the run of {new.name} was interrupted ({scores})")
    if is_worse(new.mean_dice, active.mean_dice):
        return ActiveChoice(active.model_id, new.model_id,
                            f"{active.name} stays the active model: {new.name} is worse ({scores})")
    if new.mean_dice is None or active.mean_dice is None:
        return ActiveChoice(new.model_id, active.model_id,
                            f"{new.name} is now the active model (not compared with {active.name}: no score)")
    return ActiveChoice(new.model_id, active.model_id,
                        f"{new.name} is now the active model: not worse than {active.name} ({scores})")
