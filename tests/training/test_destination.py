"""ModelDestination: the lock, and what publish() does with the run's checkpoint."""

import os
import socket

import pytest

from unet_studio.core.errors import TrainingError
from unet_studio.training.destination import ModelDestination
from unet_studio.training.events import Log, StepEnded, TrainingFinished


def _finished(path, interrupted=False):
    return TrainingFinished(path, {}, interrupted, "stopped by the user" if interrupted else "done")


def test_publish_moves_the_run_file_onto_the_target_only_after_a_step(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"old model")
    with ModelDestination(target, overwrite=True) as destination:
        destination.working_path.write_bytes(b"untrained")
        events = list(destination.publish(iter([Log("x"), _finished(destination.working_path, True)])))
        assert events[-1].checkpoint_path is None and "before the first step" in events[-1].reason
        assert target.read_bytes() == b"old model" and not destination.working_path.exists()

        destination.working_path.write_bytes(b"trained")
        step = StepEnded(1, 1, 0.5, 1e-3, 10.0, 0.1)
        events = list(destination.publish(iter([step, _finished(destination.working_path)])))
        assert events[-1].checkpoint_path == target and target.read_bytes() == b"trained"
    assert not destination.lock_path.exists() and destination.leftover() is None


def test_a_live_or_foreign_lock_is_respected_and_a_dead_one_taken_over(tmp_path):
    target = tmp_path / "model.pt"
    lock = tmp_path / "model.pt.lock"
    for holder in (f"{os.getpid()} {socket.gethostname()}", "1 another-host", "garbage"):
        lock.write_text(holder)
        with pytest.raises(TrainingError, match="another training run is writing it"):
            ModelDestination(target).acquire()
        assert lock.read_text() == holder
    lock.write_text(f"{2**22 + 12345} {socket.gethostname()}")  # above Linux's pid_max default: not running
    with ModelDestination(target) as destination:
        assert lock.read_text().split()[0] == str(os.getpid())
        destination.working_path.write_bytes(b"best so far")
    assert not lock.exists() and destination.leftover() == destination.working_path


def test_a_folder_as_target_is_refused(tmp_path):
    with pytest.raises(TrainingError, match="is a folder"):
        ModelDestination(tmp_path).acquire()
