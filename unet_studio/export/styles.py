"""Class names and colours for exported objects, from whatever form the caller holds them in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from unet_studio.core.colors import palette_color, parse_color

@dataclass(frozen=True)
class ClassStyle:
    """One object class of a conventional mask: `value` 1..K, its name and RGB colour."""

    value: int
    name: str
    color: tuple[int, int, int]

    def to_dict(self) -> dict:
        return {"value": self.value, "name": self.name, "color": list(self.color)}

    @classmethod
    def from_dict(cls, data: dict) -> "ClassStyle":
        return cls(int(data["value"]), str(data["name"]), parse_color(data["color"]))


def _field(item: Any, key: str) -> Any:
    if isinstance(item, dict):
        return item.get(key)
    return getattr(item, key, None)


def resolve_classes(classes: Sequence[Any] | None, max_value: int = 0) -> dict[int, ClassStyle]:
    """Map mask values 1..K to ClassStyle.

    `classes` may hold names (mask values 1, 2, ... in order), dicts or objects with `name` and optional
    `color`, or project ClassInfo-like items with a `value` in the annotation convention (1 = background,
    skipped; value v is mask value v - 1). Values up to `max_value` missing from `classes` get
    `"class <v>"` (the name training gives unnamed classes, so exports and model cards agree) and a palette colour, so every object in a mask has a style. A list of names that starts
    with "background" is read per network output (output 0 = background).
    """
    items = list(classes or ())
    if items and isinstance(items[0], str) and items[0].lower() == "background":
        items = items[1:]  # names listed per network output: output 0 is background
    styles: dict[int, ClassStyle] = {}
    for position, item in enumerate(items, start=1):
        if isinstance(item, str):
            styles[position] = ClassStyle(position, item, palette_color(position))
            continue
        annotation_value = _field(item, "value")
        value = position if annotation_value is None else int(annotation_value) - 1
        if value < 1:
            continue
        color = _field(item, "color")
        name = _field(item, "name") or f"class {value}"
        styles[value] = ClassStyle(value, str(name), palette_color(value) if color is None else parse_color(color))
    for value in range(1, max_value + 1):
        styles.setdefault(value, ClassStyle(value, f"class {value}", palette_color(value)))
    return styles
