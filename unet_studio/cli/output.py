"""How the command line talks to people: one line per problem, a progress line for long work."""

from __future__ import annotations

import sys
import time


def problem(message: str) -> None:
    """Print one problem line (file and reason) to stderr."""
    print(f"error: {message}", file=sys.stderr, flush=True)


def info(message: str) -> None:
    """Print a status line to stderr, keeping stdout for results such as JSON."""
    print(message, file=sys.stderr, flush=True)


class ProgressLine:
    """A single self-rewriting progress line on a terminal; plain lines every few seconds elsewhere."""

    def __init__(self, stream=None, min_interval_s: float = 5.0):
        self.stream = stream or sys.stderr
        self.is_tty = self.stream.isatty()
        self.min_interval_s = 0.1 if self.is_tty else min_interval_s
        self._last = 0.0
        self._width = 0

    def update(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        if self.is_tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, text: str | None = None) -> None:
        if text is not None:
            self.update(text, force=True)
        if self.is_tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
        self._width = 0


def bar(fraction: float, width: int = 24) -> str:
    """A text progress bar such as [#########...............] 37%."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(round(fraction * width))
    return "[" + "#" * filled + "." * (width - filled) + f"] {fraction * 100:3.0f}%"


def duration(seconds: float) -> str:
    """Seconds as m:ss or h:mm:ss."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
