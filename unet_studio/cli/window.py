"""Opening the window from the command line: whether a screen is there, and the lazy import of the GUI."""

from __future__ import annotations

import argparse
import os
import sys

from unet_studio.cli.output import problem


def display_problem() -> str | None:
    """Why no window can open here (Linux without X11/Wayland and no Qt platform chosen), else None."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (DISPLAY and WAYLAND_DISPLAY are unset): run the app under `xvfb-run -a`, "
            "or use the headless commands (`unet-studio demo --headless`, `unet-studio --help`)")


def has_display() -> bool:
    """Whether a window can be shown (an offscreen Qt platform counts as none)."""
    return display_problem() is None and os.environ.get("QT_QPA_PLATFORM", "") not in ("offscreen", "minimal")


def run_gui(args: argparse.Namespace) -> int:
    """Open the window (on `args.path` if given); one line and exit 2 where no window can open."""
    reason = display_problem()
    if reason:
        problem(reason)
        return 2
    try:
        from unet_studio.gui import run_app
    except ImportError as exc:  # PySide6 missing or its system libraries absent
        problem(f"cannot start the window ({exc}); the headless commands still work: unet-studio --help")
        return 2
    return run_app(getattr(args, "path", None))
