"""Argument parsing and dispatch for `unet-studio`."""

from __future__ import annotations

import argparse
import sys

from unet_studio import __version__
from unet_studio.cli.output import problem
from unet_studio.cli.window import run_gui
from unet_studio.core.errors import StudioError

COMMANDS = ("train", "predict", "convert", "evaluate", "info", "export", "export-model", "import-labels", "demo", "doctor",
            "gui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unet-studio",
        description="Label microscopy images, train a U-Net on them, review and export masks. "
        "Without a command the app opens; `unet-studio PATH` opens a project or a folder of images.",
    )
    parser.add_argument("--version", action="version", version=f"unet-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    from unet_studio.cli import convert, demo, doctor, evaluate, export, import_labels, info, predict, train

    train.add_parser(sub)
    predict.add_parser(sub)
    convert.add_parser(sub)
    evaluate.add_parser(sub)
    info.add_parser(sub)
    export.add_parsers(sub)
    import_labels.add_parser(sub)
    demo.add_parser(sub)
    doctor.add_parser(sub)
    gui = sub.add_parser("gui", help="open the app (optionally on a project or a folder of images)")
    gui.add_argument("path", nargs="?", help="project folder or folder of images")
    gui.set_defaults(handler=run_gui)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except StudioError as exc:
        problem(str(exc))
        return 2
    except KeyboardInterrupt:
        problem("interrupted")
        return 130
