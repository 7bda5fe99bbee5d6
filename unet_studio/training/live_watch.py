"""Live training on a project folder that others edit: `train PROJECT --watch` (iter_train_watched).

The run (training.live) follows the labels as they are saved. The current weights go to
`<model stem>.current.pt` beside the model every `save_every` seconds (a file someone labelling elsewhere can
load); it is removed once the run has finished and its model stands at the target.

ProjectWatcher is the headless twin of the GUI calling LiveControl.update_snapshot: a thread re-opens the
project whenever its manifest file changed (checked every `interval` s) and passes the snapshot on when it
differs from the last one (images added or removed, splits, classes). Annotation edits need no new snapshot:
the run's own polling sees them. Nothing here touches a Project another thread uses: each check opens its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from unet_studio.core.errors import StudioError
from unet_studio.core.project import Project
from unet_studio.models.checkpoint import Checkpoint
from unet_studio.models.config import ModelConfig
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import Log, StepEnded, TrainingEvent
from unet_studio.training.live import LiveControl, iter_train_live
from unet_studio.training.project_source import ProjectSnapshot, snapshot_project

WATCH_INTERVAL_S = 3.0
DEFAULT_SAVE_EVERY_S = 60.0


class ProjectWatcher:
    """Use as a context manager around the run; `problem` is the last line a check failed with (or None)."""

    def __init__(self, folder: str | Path, control: LiveControl, snapshot: ProjectSnapshot,
                 interval: float = WATCH_INTERVAL_S):
        self.folder, self.control, self.interval = Path(folder), control, interval
        self.problem: str | None = None
        self._last = snapshot
        self._stamp = self._manifest_stamp()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="project-watcher", daemon=True)

    def __enter__(self) -> ProjectWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = (self._last.manifest_path).stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def check(self) -> bool:
        """Re-read the project if its manifest changed; True when a new snapshot went to the run."""
        stamp = self._manifest_stamp()
        if stamp == self._stamp:
            return False
        try:
            snapshot = snapshot_project(Project.open(self.folder))
        except StudioError as error:
            self.problem = str(error)
            return False
        self._stamp, self.problem = stamp, None
        if snapshot == self._last:
            return False
        self._last = snapshot
        self.control.update_snapshot(snapshot)
        return True


def current_model_path(target: Path) -> Path:
    """Where a watched run keeps its latest weights while it runs."""
    return target.with_name(f"{target.stem}.current{target.suffix or '.pt'}")


def iter_train_watched(project: Project, out_path: Path, target: Path, model_config: ModelConfig | None = None,
                       train_config: TrainConfig | None = None, init: Checkpoint | str | Path | None = None,
                       stop: threading.Event | None = None,
                       save_every: float = DEFAULT_SAVE_EVERY_S) -> Iterator[TrainingEvent]:
    """iter_train_live on the project as it is on disk now and later; the current weights are kept at
    current_model_path(target) every `save_every` s of training. Call on the thread that opened `project`."""
    control, snapshot = LiveControl(), snapshot_project(project)
    current = current_model_path(Path(target))
    with ProjectWatcher(project.folder, control, snapshot) as watcher:
        last_save, saved_step, step, problem = time.monotonic(), 0, 0, None
        for event in iter_train_live(snapshot, out_path, model_config, train_config, init=init, stop=stop,
                                     control=control):
            yield event
            if watcher.problem is not None and watcher.problem != problem:
                yield Log(f"cannot re-read the project (training goes on with the last good one): {watcher.problem}")
            problem = watcher.problem
            step = event.step if isinstance(event, StepEnded) else step
            if step > saved_step and time.monotonic() - last_save >= save_every:
                control.keep_model(current)
                last_save, saved_step = time.monotonic(), step
    current.unlink(missing_ok=True)
