"""Training targets from instance labels: a touching-border class that tells the network where objects meet.

The DSB 2018 winners' recipe: besides background and the object classes, the network learns one more
output, the pixels of an object that lie within ``border_width`` pixels of another object. Predicted, it
separates touching objects: seeds are the object pixels that are not border, and a watershed grows them back
over the object region (inference/postprocess.py). How the targets were made is a plain-data `TargetRecipe`
that the checkpoint keeps, so prediction knows what the outputs mean.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi

SEMANTIC, TOUCHING_BORDER = "semantic", "touching-border"
RECIPES = (SEMANTIC, TOUCHING_BORDER)
BORDER_WIDTH = 2  # pixels, as the DSB 2018 winners used; 3 px scored as well on DSB test images (README, Measured)
BORDER_NAME = "touching border"


@dataclass(frozen=True)
class TargetRecipe:
    """What the network's outputs mean. ``semantic``: output 0 background, k object class k.
    ``touching-border``: the same plus one last output, object pixels within ``border_width`` px of another
    object (their class is recovered from the class outputs)."""

    target: str = SEMANTIC
    border_width: int = BORDER_WIDTH

    def __post_init__(self) -> None:
        if self.target not in RECIPES:
            raise ValueError(f"unknown target recipe {self.target!r}; expected one of {', '.join(RECIPES)}")
        if self.border_width < 1:
            raise ValueError(f"border_width must be at least 1 (got {self.border_width})")

    @property
    def has_border(self) -> bool:
        return self.target == TOUCHING_BORDER

    def extra_outputs(self) -> int:
        """Network outputs beyond background + object classes."""
        return 1 if self.has_border else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TargetRecipe:
        """From a checkpoint's plain data; None or {} (files from before recipes) is the semantic recipe."""
        data = dict(data or {})
        return cls(str(data.get("target", SEMANTIC)), int(data.get("border_width", BORDER_WIDTH)))


def _disk(radius: int) -> np.ndarray:
    rows, cols = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    return rows * rows + cols * cols <= radius * radius


def touching_border(ids: np.ndarray, width: int = BORDER_WIDTH) -> np.ndarray:
    """bool (H, W): object pixels (id > 0) with a pixel of another object within ``width`` px (Euclidean).
    A lone object has none; two touching objects get a band ``width`` px deep on each side of the contact."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"instance ids must be (H, W), got shape {ids.shape}")
    ids = ids.astype(np.uint32, copy=False)
    objects = ids > 0
    if not objects.any():
        return np.zeros(ids.shape, bool)
    footprint = _disk(int(width))
    highest = ndi.maximum_filter(ids, footprint=footprint, mode="nearest")
    lowest = ndi.minimum_filter(np.where(objects, ids, np.iinfo(np.uint32).max), footprint=footprint, mode="nearest")
    return objects & ((highest != ids) | (lowest != ids))


def add_border_class(target: np.ndarray, ids: np.ndarray | None, border_class: int,
                     width: int = BORDER_WIDTH) -> np.ndarray:
    """A training target (int64 -1 unlabelled, 0 background, k class k) with the touching-border pixels of
    labelled objects (target >= 1) set to ``border_class``; unchanged where ``ids`` is None."""
    target = np.array(target, dtype=np.int64, copy=True)
    if ids is None:
        return target
    if np.shape(ids) != target.shape:
        raise ValueError(f"instance ids {np.shape(ids)} do not match the target {target.shape}")
    target[touching_border(ids, width) & (target >= 1)] = border_class
    return target


def target_from_instances(ids: np.ndarray) -> np.ndarray:
    """Plain target of an instance label image (every pixel labelled): 0 background, 1 object."""
    return (np.asarray(ids) > 0).astype(np.int64)


def semantic_truth(target: np.ndarray, ids: np.ndarray | None, border_class: int) -> np.ndarray:
    """The class target again from a touching-border one: each border pixel takes the class that most of its
    object's other pixels have (class 1 when the object is all border or no ids are given)."""
    target = np.asarray(target, np.int64)
    border = target == border_class
    if not border.any():
        return target
    truth = target.copy()
    truth[border] = 1
    if ids is None or border_class <= 2:
        return truth
    ids = np.asarray(ids, np.int64)
    inner = (target >= 1) & ~border & (ids > 0)
    votes = np.zeros((int(ids.max()) + 1, border_class), np.int64)
    np.add.at(votes, (ids[inner], target[inner]), 1)
    majority = votes.argmax(axis=1)
    majority[majority == 0] = 1
    truth[border] = majority[ids[border]]
    return truth
