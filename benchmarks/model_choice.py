"""The model options the benchmarks share: ``--preset NAME`` and ``--model JSON`` (ModelConfig overrides).

Imports of unet_studio happen inside the functions, so scripts that re-run themselves before torch loads
(``--cpu avx2``, speed_machine.py) can add the options first.
"""

from __future__ import annotations

import argparse
import json


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Adds ``--preset`` (default: the app's default preset) and ``--model`` to ``parser``."""
    parser.add_argument("--preset", default=None, help="model preset (default: the app's default)")
    parser.add_argument("--model", default="{}",
                        help='ModelConfig overrides of the preset as JSON, e.g. \'{"depth": 4, "base_channels": 8}\'')


def preset_name(args: argparse.Namespace) -> str:
    """The preset the command line names, or the app's default."""
    from unet_studio.models.config import DEFAULT_PRESET

    return args.preset or DEFAULT_PRESET


def chosen_model(args: argparse.Namespace, **fixed):
    """The ModelConfig of ``--preset`` with ``--model`` overrides, then ``fixed`` (e.g. in_channels) on top."""
    from unet_studio.models.config import ModelConfig

    return ModelConfig.from_preset(preset_name(args), **{**json.loads(args.model), **fixed})


def model_argv(args: argparse.Namespace) -> list[str]:
    """The options again, for a child process of the same script."""
    return ["--preset", preset_name(args), "--model", args.model]
