"""Training items under a target recipe, and stroke rims left out where scribbles of two classes touch."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

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


def without_contact_rim(target: np.ndarray, width: int) -> np.ndarray:
    """A copy of an int64 (H, W) target (-1 unlabelled) whose labelled pixels within `width` px (square
    neighbourhood) of a pixel labelled with another class become -1. A stroke painted right up to the other
    class puts its least certain pixels exactly there: a hand's 1-2 px, or where the truth's edge sits."""
    out = target.copy()
    if width <= 0:
        return out
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    labelled = target >= 0
    for value in np.unique(target[labelled]).tolist():
        others = (labelled & (target != value)).astype(np.uint8)
        near = cv2.dilate(others, kernel).astype(bool)
        out[near & (target == value)] = -1
    return out
