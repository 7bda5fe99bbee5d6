"""Class names and colours from names, dicts, project/checkpoint classes, or nothing."""

from types import SimpleNamespace

import pytest

from unet_studio.core.colors import palette_color, parse_color
from unet_studio.export.styles import ClassStyle, resolve_classes


def test_names_in_order_and_generated_rest():
    styles = resolve_classes(["nucleus", "membrane"], max_value=3)
    assert [(s.value, s.name) for s in styles.values()] == [(1, "nucleus"), (2, "membrane"), (3, "class 3")]
    assert styles[3].color == palette_color(3)


def test_names_per_network_output_skip_background():
    assert resolve_classes(["background", "cell"])[1].name == "cell"


def test_checkpoint_and_project_classes_use_annotation_values():
    checkpoint_classes = [{"value": 1, "name": "background", "color": "#000000"},
                          {"value": 3, "name": "spot", "color": "#00ff80"}]
    styles = resolve_classes(checkpoint_classes)
    assert list(styles) == [2] and styles[2] == ClassStyle(2, "spot", (0, 255, 128))
    project_classes = [SimpleNamespace(value=2, name="cell", color=(1, 2, 3))]
    assert resolve_classes(project_classes)[1].color == (1, 2, 3)


def test_colour_parsing_and_dict_round_trip():
    assert parse_color("#0a0B0c") == (10, 11, 12) and parse_color([1.4, 2.6, 3]) == (1, 3, 3)
    with pytest.raises(ValueError, match="not #rrggbb"):
        parse_color("#fff")
    style = ClassStyle(4, "x", (9, 8, 7))
    assert ClassStyle.from_dict(style.to_dict()) == style
