"""The export layer's one-line error, so the CLI and GUI can show a failed export like any other."""

from __future__ import annotations

from unet_studio.core.errors import StudioError


class ExportError(StudioError):
    """An export could not be written or checked: `"{path}: {reason}"`."""
