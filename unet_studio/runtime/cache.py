"""The per-user cache folder (measured precision probes, ONNX exports of networks): files safe to delete."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from unet_studio.core.atomic import atomic_write_bytes, atomic_write_json
from unet_studio.core.errors import StudioError

CACHE_ENV = "UNET_STUDIO_CACHE_DIR"
APP = "unet-studio"


def cache_folder() -> Path:
    """``$UNET_STUDIO_CACHE_DIR`` if set, else the platform's user cache folder (as platformdirs picks it):
    ``~/.cache/unet-studio`` (or ``$XDG_CACHE_HOME``) on Linux, ``~/Library/Caches/unet-studio`` on macOS,
    ``%LOCALAPPDATA%\\unet-studio\\Cache`` on Windows."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP


def read_cache(name: str) -> dict[str, Any]:
    """The JSON object cached under ``name``; empty when missing or unreadable (a cache never blocks work)."""
    try:
        data = json.loads((cache_folder() / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cache(name: str, data: dict[str, Any]) -> bool:
    """Write ``data`` atomically under ``name``; False (and nothing raised) when the folder is not writable."""
    try:
        folder = cache_folder()
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / name, data)
    except (OSError, StudioError):
        return False
    return True


def cached_file(name: str) -> Path | None:
    """The cached file ``name`` (a relative path) if it exists, else None."""
    path = cache_folder() / name
    return path if path.is_file() else None


def store_file(name: str, data: bytes, keep: int = 20) -> bool:
    """Write ``data`` atomically under ``name`` and keep only the ``keep`` newest files of its folder;
    False (and nothing raised) when the cache cannot be written."""
    try:
        path = cache_folder() / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        siblings = sorted((p for p in path.parent.iterdir() if p.is_file() and p.suffix == path.suffix),
                          key=lambda p: p.stat().st_mtime, reverse=True)
        for old in siblings[keep:]:
            old.unlink(missing_ok=True)
    except (OSError, StudioError):
        return False
    return True
