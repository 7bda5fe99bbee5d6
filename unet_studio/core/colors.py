"""Class colours: the one palette (new project classes, exported classes and instances without a colour) and
the one colour parser."""

from __future__ import annotations

from typing import Any

BACKGROUND_COLOR = "#808080"
# ColorBrewer Set1: distinct hues for the first classes; instances cycle through them.
PALETTE = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf")


def parse_color(color: Any) -> tuple[int, int, int]:
    """`"#rrggbb"` or a sequence of three 0..255 numbers -> an (r, g, b) tuple of ints."""
    if isinstance(color, str):
        text = color.lstrip("#")
        if len(text) != 6:
            raise ValueError(f"colour {color!r} is not #rrggbb")
        return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    r, g, b = (int(round(float(c))) for c in list(color)[:3])
    return (r, g, b)


def palette_color(index: int) -> tuple[int, int, int]:
    """The palette colour (r, g, b) for a 1-based class value or instance label."""
    return parse_color(PALETTE[(index - 1) % len(PALETTE)])
