"""LiveControl: requests to a live training run from any thread, served by the run between steps."""

from __future__ import annotations

import threading
from pathlib import Path

from unet_studio.training.project_source import ProjectSnapshot


class LiveControl:
    """Thread-safe: pause(), resume(), keep_model(path), update_snapshot(snapshot) and labels_changed()
    may be called from any thread; the run (LiveTrainer) takes the requests on its own thread between steps.
    Stopping is the run's `stop` event, as for every training run."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._paused = False
        self._keep: list[Path] = []
        self._snapshot: ProjectSnapshot | None = None
        self._check_now = False

    def pause(self) -> None:
        """No more steps until resume(); stop, keep_model and label reloading are still served."""
        self._set(paused=True)

    def resume(self) -> None:
        self._set(paused=False)

    @property
    def paused(self) -> bool:
        with self._wake:
            return self._paused

    def keep_model(self, path: str | Path) -> None:
        """Save the current weights at `path` (a normal checkpoint) before the next step; a ModelKept follows."""
        with self._wake:
            self._keep.append(Path(path))
            self._wake.notify_all()

    def update_snapshot(self, snapshot: ProjectSnapshot) -> None:
        """Train on this snapshot's images and splits from the next step on (the latest one given wins)."""
        with self._wake:
            self._snapshot = snapshot
            self._wake.notify_all()

    def labels_changed(self) -> None:
        """Check the annotation files before the next step instead of at the next poll."""
        with self._wake:
            self._check_now = True
            self._wake.notify_all()

    # -- the run's side -----------------------------------------------------------------------------------

    def _set(self, paused: bool) -> None:
        with self._wake:
            self._paused = paused
            self._wake.notify_all()

    def take_keep_requests(self) -> list[Path]:
        with self._wake:
            requests, self._keep = self._keep, []
        return requests

    def take_snapshot(self) -> ProjectSnapshot | None:
        with self._wake:
            snapshot, self._snapshot = self._snapshot, None
        return snapshot

    def take_check_request(self) -> bool:
        """Whether a new snapshot or a labels_changed() asks for a check now (and forget the request)."""
        with self._wake:
            asked = self._check_now or self._snapshot is not None
            self._check_now = False
        return asked

    def wait(self, timeout: float) -> None:
        """Sleep up to `timeout` s, waking early when a request arrives (while paused or waiting for labels)."""
        with self._wake:
            if not (self._keep or self._snapshot is not None or self._check_now):
                self._wake.wait(timeout)
