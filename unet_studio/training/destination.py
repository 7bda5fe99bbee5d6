"""Where a training run's model goes, so that no run loses a model that is already there.

`ModelDestination(target, overwrite)` refuses an existing target unless asked to overwrite, checks the
folder is writable before any training step, and takes a lock (`<target>.lock`, created with O_EXCL,
holding the pid) so a second run on the same target fails at once; a lock whose process is gone is taken
over. The run writes its checkpoints beside the target (`<stem>.run-<pid>.pt`) and `publish(events)` moves
that file onto the target only when the run finishes with a trained model.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from unet_studio.core.atomic import ensure_writable_folder
from unet_studio.core.errors import TrainingError
from unet_studio.training.events import StepEnded, TrainingEvent, TrainingFinished


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class ModelDestination:
    """The checkpoint file a run will produce; use as a context manager around the run."""

    def __init__(self, target: str | os.PathLike, overwrite: bool = False):
        self.target = Path(target)
        self.overwrite = overwrite
        self.lock_path = self.target.with_name(self.target.name + ".lock")
        suffix = self.target.suffix or ".pt"
        self.working_path = self.target.with_name(f"{self.target.stem}.run-{os.getpid()}{suffix}")
        self.published = False
        self._locked = False

    def __enter__(self) -> ModelDestination:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def acquire(self) -> None:
        """Check the target can be written and take the lock; a TrainingError line says why not."""
        if self.target.is_dir():
            raise TrainingError(self.target, "is a folder; give the model file to write, e.g. "
                                             f"{self.target / 'model.pt'}")
        if self.target.exists() and not self.overwrite:
            raise TrainingError(self.target, "already exists; give --overwrite to replace it when the new run "
                                             "ends, or another --out")
        ensure_writable_folder(self.target.parent)
        if not self._try_lock() and not (self._lock_is_stale() and self._try_lock()):
            raise TrainingError(self.target, f"another training run is writing it ({self._lock_owner()}); "
                                             f"wait for it, or remove {self.lock_path.name} if that run is gone")

    def release(self) -> None:
        """Drop the lock (the run's own checkpoint, if not published, stays beside the target)."""
        if self._locked:
            self.lock_path.unlink(missing_ok=True)
            self._locked = False

    def leftover(self) -> Path | None:
        """The run's checkpoint that was not moved onto the target (run failed), if there is one."""
        return self.working_path if not self.published and self.working_path.is_file() else None

    def publish(self, events: Iterator[TrainingEvent]) -> Iterator[TrainingEvent]:
        """Pass the events on; at TrainingFinished move the run's checkpoint onto the target. A run stopped
        before its first step trained nothing: its file is dropped and the target left as it was."""
        stepped = False
        for event in events:
            if isinstance(event, StepEnded):
                stepped = True
            if isinstance(event, TrainingFinished) and event.checkpoint_path is not None:
                if stepped:
                    self._move_onto_target(Path(event.checkpoint_path))
                    self.published = True
                    event = dataclasses.replace(event, checkpoint_path=self.target)
                else:
                    Path(event.checkpoint_path).unlink(missing_ok=True)
                    event = dataclasses.replace(event, checkpoint_path=None,
                                                reason=f"{event.reason} before the first step")
            yield event

    def _move_onto_target(self, path: Path) -> None:
        try:
            os.replace(path, self.target)
        except OSError as exc:
            raise TrainingError(self.target, f"cannot replace it with the new model {path.name} "
                                             f"({exc.strerror or exc}); the new model stays there") from exc
        self.published = True

    # -- the lock -----------------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        try:
            fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except OSError as exc:
            reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
            raise TrainingError(self.lock_path, f"cannot create the lock file ({reason})") from exc
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        self._locked = True
        return True

    def _read_lock(self) -> tuple[int | None, str]:
        try:
            pid, _, host = self.lock_path.read_text().strip().partition(" ")
            return int(pid), host
        except (OSError, ValueError):
            return None, ""

    def _lock_is_stale(self) -> bool:
        """A lock from a process on this machine that no longer runs is removed (True); else False."""
        pid, host = self._read_lock()
        if pid is None or host != socket.gethostname() or _process_alive(pid):
            return False
        self.lock_path.unlink(missing_ok=True)
        return True

    def _lock_owner(self) -> str:
        pid, host = self._read_lock()
        return f"process {pid} on {host}" if pid is not None else f"lock file {self.lock_path}"
