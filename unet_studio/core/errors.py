"""The errors users see: every one is a single line that names the file and the reason."""

from __future__ import annotations

import os


def _one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace so a message never spans lines."""
    return " ".join(str(text).split())


class StudioError(Exception):
    """Base of every user-facing failure; ``str()`` is one line, ``path`` names the file if known.

    ``StudioError("message")`` gives the message as is; ``StudioError(path, reason)`` gives
    ``"{path}: {reason}"``.
    """

    def __init__(self, path_or_message: str | os.PathLike, reason: str | None = None):
        if reason is None:
            self.path = None
            self.reason = _one_line(path_or_message)
            message = self.reason
        else:
            self.path = os.fspath(path_or_message)
            self.reason = _one_line(reason)
            message = f"{_one_line(self.path)}: {self.reason}"
        super().__init__(message)


class ImageReadError(StudioError):
    """An image file cannot be read or understood."""


class AnnotationError(StudioError):
    """A label image is missing, corrupt, or does not fit its image."""


class ProjectError(StudioError):
    """A project folder or its manifest cannot be read or written."""


class ModelFileError(StudioError):
    """A checkpoint or exported model file cannot be read or written."""


class InputSizeError(StudioError):
    """An image or tile is too small for the network (a 'valid' U-Net needs at least 2 * margin + 1 pixels)."""


class TrainingError(StudioError):
    """Training cannot start or cannot go on."""
