"""Which model is active after training: the new one unless it is worse on the same validation or was
interrupted; the other one is offered as the switch."""

import pytest

from unet_studio.core.model_choice import WORSE_MARGIN, ModelCandidate, choose_active_model, is_worse

OLD = ModelCandidate("m1", "old", 0.80)


@pytest.mark.parametrize("new_dice, old_dice, worse", [
    (0.70, 0.80, True),
    (0.80 - WORSE_MARGIN / 2, 0.80, False),  # within the margin: as good
    (0.80, 0.80, False),
    (0.90, 0.80, False),
    (0.0, 0.0, False),
    (None, 0.80, False),
    (0.70, None, False),
])
def test_is_worse(new_dice, old_dice, worse):
    assert is_worse(new_dice, old_dice) is worse


@pytest.mark.parametrize("new_dice, interrupted, active, alternative, says", [
    (0.70, False, "m1", "m2", "old stays the active model: new is worse (mean Dice 0.700 vs 0.800"),
    (0.90, False, "m2", "m1", "new is now the active model: not worse than old (mean Dice 0.900 vs 0.800"),
    (0.80, False, "m2", "m1", "not worse than old"),
    (0.90, True, "m1", "m2", "old stays the active model: the run of new was interrupted"),
    (None, False, "m2", "m1", "not compared with old"),
])
def test_choose_active_model(new_dice, interrupted, active, alternative, says):
    choice = choose_active_model(ModelCandidate("m2", "new", new_dice), OLD, interrupted, "2 validation image(s)")
    assert (choice.active, choice.alternative) == (active, alternative)
    assert says in choice.message and "\n" not in choice.message


def test_the_first_model_becomes_active_with_nothing_to_switch_to():
    choice = choose_active_model(ModelCandidate("m1", "first", None), None, interrupted=True)
    assert (choice.active, choice.alternative) == ("m1", None)
    assert choose_active_model(OLD, OLD).alternative is None
