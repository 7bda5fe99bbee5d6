"""Training items under a target recipe: the touching-border class added where instance labels exist."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from unet_studio.core.instance_targets import TargetRecipe, add_border_class
from unet_studio.data.sampling import TrainItem


def apply_recipe(items: Sequence[TrainItem], recipe: TargetRecipe, border_class: int) -> list[TrainItem]:
    """The items with targets for ``recipe``: under touching-border, object pixels near another object of the
    item's instance layer become ``border_class`` (the network's last output); items without a layer and
    the semantic recipe keep their targets."""
    if not recipe.has_border:
        return list(items)
    return [item if item.instances is None else
            dataclasses.replace(item, target=add_border_class(item.target, item.instances, border_class,
                                                              recipe.border_width))
            for item in items]
