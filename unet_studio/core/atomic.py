"""Crash-safe file writes: temp file in the same folder, flush, fsync, os.replace, fsync the folder.

A reader sees either the old file or the complete new one, never a half-written file, and a failure
leaves the old file untouched and no temp file behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from unet_studio.core.errors import ProjectError, StudioError

NEW_FILE_MODE = 0o644  # mkstemp makes 0o600 files; new files get the usual rw-r--r--, replaced ones keep theirs


def _explain(path: Path, exc: OSError) -> StudioError:
    """Turn an OSError into a one-line ProjectError naming the target file."""
    if isinstance(exc, PermissionError):
        reason = "cannot write (permission denied: is the folder read-only?)"
    elif exc.errno == errno.ENOSPC:
        reason = "cannot write (disk full)"
    elif exc.errno == errno.EROFS:
        reason = "cannot write (read-only file system)"
    elif isinstance(exc, FileNotFoundError):
        reason = "cannot write (folder does not exist)"
    else:
        reason = f"cannot write ({exc.strerror or exc})"
    return ProjectError(path, reason)


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself; not possible on every platform, so failures are ignored."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; ``path`` is replaced by what was written only if the block succeeds."""
    target = Path(path)
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    except OSError as exc:
        raise _explain(target, exc) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, target.stat().st_mode & 0o7777 if target.exists() else NEW_FILE_MODE)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _explain(target, exc) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def ensure_writable_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents) if needed and check a file can be written in it; else one
    ProjectError line saying why (a file in the way, a read-only or full disk, no permission)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ProjectError(folder, "is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder.parent)
        raise ProjectError(folder, f"cannot create the folder: {blocker} is a file") from exc
    except OSError as exc:
        raise _explain_folder(folder, exc, "cannot create the folder") from exc
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _explain_folder(folder, exc, "cannot write in the folder") from exc
    return folder


def _explain_folder(folder: Path, exc: OSError, what: str) -> ProjectError:
    if isinstance(exc, PermissionError):
        return ProjectError(folder, f"{what} (permission denied: is {_existing_parent(folder)} read-only?)")
    if exc.errno == errno.EROFS:
        return ProjectError(folder, f"{what} (read-only file system)")
    if exc.errno == errno.ENOSPC:
        return ProjectError(folder, f"{what} (disk full)")
    return ProjectError(folder, f"{what} ({exc.strerror or exc})")


def _existing_parent(folder: Path) -> Path:
    return next((p for p in (folder, *folder.parents) if p.exists()), folder)


def remove_stale_temp_files(folder: str | os.PathLike, older_than_s: float = 3600.0) -> list[Path]:
    """Delete temp files that a killed writer left in ``folder`` (never the files they were replacing)."""
    removed = []
    cutoff = time.time() - older_than_s
    for temp in Path(folder).glob(".*.tmp-*"):
        try:
            if temp.is_file() and temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed.append(temp)
        except OSError:
            continue
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int = 2) -> None:
    """Write ``obj`` as pretty JSON (UTF-8, trailing newline) to ``path`` atomically."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write_text(path, text)
