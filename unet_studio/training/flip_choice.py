"""Choosing test-time flips for a semantic model on its validation images (never on test images).

After training, the best weights validate once without and once with the four flips (inference/tiling.py's
FlipAveraged), each with its own threshold chosen as validation always does. Flips stay on for prediction
only when they raise the validation images' mean foreground Dice by at least FLIP_DICE_GAIN: they cost four
network passes per tile, so a gain inside the noise of a few images does not pay for them. The choice goes
into the checkpoint's ``postprocess`` and predict uses it unless told otherwise (``--tta`` / ``--no-tta``).
A run on scribbles with no validation images has nothing to validate on: its flips are on by rule
(`flips_for_scribbles`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from unet_studio.training.validation import Validation

FLIP_DICE_GAIN = 0.005  # mean foreground validation Dice the four flips must add to be on by default
FLIP_TRIAL_LIMIT_S = 30.0  # no trial of flips when one plain pass over the validation images took longer


@dataclass(frozen=True)
class FlipChoice:
    """Whether flips are on, the threshold that goes with the choice, and what each way scored."""

    tta: bool
    threshold: float | None
    val_dice_plain: float
    val_dice_flips: float | None
    n_images: int
    seconds_plain: float
    seconds_tta: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def choose_flips(validate_with: Callable[[bool], Validation], n_images: int) -> FlipChoice | None:
    """Validate without and with flips (``validate_with(tta)``) and keep flips when they pay; None when the
    validation gives no Dice to compare (no foreground class scored)."""
    start = time.perf_counter()
    plain = validate_with(False)
    seconds_plain = time.perf_counter() - start
    if plain.metrics.get("mean_dice") is None:
        return None
    if seconds_plain > FLIP_TRIAL_LIMIT_S:  # four times that would keep the user waiting at the end of training
        return FlipChoice(False, plain.threshold, plain.metrics["mean_dice"], None, n_images, seconds_plain, None)
    start = time.perf_counter()
    flips = validate_with(True)
    seconds_flips = time.perf_counter() - start
    dice_plain, dice_flips = plain.metrics["mean_dice"], flips.metrics.get("mean_dice")
    tta = dice_flips is not None and dice_flips >= dice_plain + FLIP_DICE_GAIN
    return FlipChoice(tta, (flips if tta else plain).threshold, dice_plain, dice_flips, n_images, seconds_plain,
                      seconds_flips)


def flips_for_scribbles() -> dict:
    """The choice for a run on scribbles with no validation images, where nothing can validate the flips: on.
    Chosen on the dev slices of benchmarks/scribble_styles.py: they raised the membrane Dice of each of the four
    weakest annotator styles (boundary, sparse, clicks, random walk) by 0.006 to 0.009."""
    return {"tta": True, "threshold": None, "n_images": 0, "rule": "scribbles without validation images"}


def describe_flips(choice: dict) -> str:
    """One line for the training log: the flips' choice and the validation Dice each way (or the rule)."""
    if "rule" in choice:
        return f"test-time flips {'on' if choice['tta'] else 'off'}: {choice['rule']}"
    flips = "not tried" if choice["val_dice_flips"] is None else f"{choice['val_dice_flips']:.3f}"
    return (f"test-time flips {'on' if choice['tta'] else 'off'}, chosen on {choice['n_images']} validation "
            f"image(s): mean Dice {choice['val_dice_plain']:.3f} without, {flips} with them")
