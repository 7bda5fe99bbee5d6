"""`train` never loses a model: signals save, an existing --out is kept, a second run is locked out, a full
disk leaves the old model (issue 20, items 3, 4, 5). The README's "Ctrl+C saves the best checkpoint so far"
is test_ctrl_c_saves_the_current_weights_and_a_second_run_is_locked_out and
test_sigterm_after_an_epoch_saves_the_best_checkpoint_marked_interrupted.
"""

import errno
import os
import signal
import subprocess

import torch

from tests.cli.helpers import (
    TINY_TRAIN, assert_one_line_error, error_lines, run_cli, start_cli, tmpfs_at, write_pairs,
    write_tiny_model,
)
from unet_studio.cli import main
from unet_studio.models.checkpoint import load_checkpoint


def _train_args(images, masks, out, *extra):
    return ["train", "--images", images, "--labels", masks, "--labels-format", "mask", "--out", out,
            *TINY_TRAIN, *extra]


def _read_until(process: subprocess.Popen, prefix: str) -> list[str]:
    """stderr lines up to and including the first that starts with `prefix` (the test timeout bounds it)."""
    lines = []
    for line in process.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the run ended before a line starting {prefix!r}:\n" + "\n".join(lines))


def _finish(process: subprocess.Popen) -> tuple[int, list[str]]:
    rest = process.stderr.read().splitlines()
    return process.wait(timeout=120), rest


def _assert_interrupted_checkpoint(path):
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["interrupted"] is True
    assert load_checkpoint(path).interrupted
    return payload


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".run-" in p.name or p.name.endswith(".lock"))


def test_ctrl_c_saves_the_current_weights_and_a_second_run_is_locked_out(tmp_path):
    """SIGINT before any epoch ended: the current weights are saved marked interrupted and the last line says
    so (on main nothing was written). While the first run holds the target, a second fails at once."""
    images, masks = write_pairs(tmp_path)
    out = tmp_path / "model.pt"
    first = start_cli(*_train_args(images, masks, out, "--max-seconds", "300", "--steps-per-epoch", "100000"))
    try:
        _read_until(first, "train [")
        second = run_cli(*_train_args(images, masks, out, "--max-steps", "1"))
        assert_one_line_error(second, str(out), "another training run", f"process {first.pid}")
        assert first.poll() is None
        first.send_signal(signal.SIGINT)
        code, rest = _finish(first)
    finally:
        first.kill()
    assert code == 130, rest
    assert rest[-1].startswith("stopped by SIGINT: saved the current weights (step ") and rest[-1].endswith(
        f"before any epoch ended) to {out}, marked interrupted"), rest
    payload = _assert_interrupted_checkpoint(out)
    assert payload["history"]["best_epoch"] is None
    assert _leftovers(tmp_path) == []


def test_sigterm_after_an_epoch_saves_the_best_checkpoint_marked_interrupted(tmp_path):
    """SIGTERM (what a cluster scheduler sends) after the first epoch: the best weights, marked interrupted.
    On main SIGTERM killed the run and the file was the last epoch's, marked not interrupted."""
    images, masks = write_pairs(tmp_path)
    out = tmp_path / "model.pt"
    run = start_cli(*_train_args(images, masks, out, "--max-seconds", "300", "--steps-per-epoch", "3"))
    try:
        _read_until(run, "epoch 1:")
        run.send_signal(signal.SIGTERM)
        code, rest = _finish(run)
    finally:
        run.kill()
    assert code == 128 + signal.SIGTERM, rest
    assert rest[-1].startswith("stopped by SIGTERM: saved the best checkpoint so far (epoch "), rest
    assert rest[-1].endswith(f"to {out}, marked interrupted"), rest
    payload = _assert_interrupted_checkpoint(out)
    assert payload["history"]["best_epoch"] >= 1
    assert _leftovers(tmp_path) == []


def test_existing_out_is_refused_unless_overwrite_and_stale_locks_are_reclaimed(tmp_path):
    """On main an existing model was replaced at the first epoch's end without a word."""
    images, masks = write_pairs(tmp_path)
    out = write_tiny_model(tmp_path / "model.pt")
    before = out.read_bytes()
    refused = run_cli(*_train_args(images, masks, out, "--max-steps", "2"))
    assert_one_line_error(refused, str(out), "already exists", "--overwrite")
    assert out.read_bytes() == before

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "model.pt.lock").write_text(f"{dead.pid} {__import__('socket').gethostname()}\n")
    replaced = run_cli(*_train_args(images, masks, out, "--max-steps", "2", "--overwrite"))
    assert replaced.returncode == 0, replaced.stderr
    assert out.read_bytes() != before and load_checkpoint(out).history["steps"] == [2]
    assert _leftovers(tmp_path) == []


class _FullDisk:
    """A file opened for writing on a nearly full disk: the first 4 KB fit, then writes fail with ENOSPC
    (failing from the first byte on, torch.save passed the OSError on; past the first write it raised
    'RuntimeError: [enforce fail at inline_container.cc] unexpected pos', as on a real full disk)."""

    def __init__(self, handle, room=4096):
        self.handle, self.room = handle, room

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.handle.close()

    def write(self, data):
        size = len(memoryview(data))
        if size > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= size
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_a_full_disk_while_saving_is_one_line_and_keeps_the_old_model(tmp_path, monkeypatch, capsys):
    """ENOSPC injected into the atomic writer's file (in-process; test_a_really_full_disk_through_the_cli
    is the subprocess one, where a tmpfs can be mounted). torch.save turned it into a RuntimeError traceback."""
    images, masks = write_pairs(tmp_path)
    out = write_tiny_model(tmp_path / "model.pt")
    before = out.read_bytes()
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        return _FullDisk(handle) if mode == "wb" else handle

    monkeypatch.setattr("unet_studio.core.atomic.os.fdopen", fdopen)
    code = main([*map(str, _train_args(images, masks, out, "--max-steps", "2", "--overwrite"))])
    err = capsys.readouterr().err
    assert code == 2 and len(error_lines(err)) == 1 and "Traceback" not in err, err
    assert "disk full" in error_lines(err)[0] and f"{out} is unchanged" in error_lines(err)[0]
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == [] and not list(tmp_path.glob(".*tmp*"))


def test_a_really_full_disk_through_the_cli(tmp_path):
    """The same on a 256 KB tmpfs (root only): the old 50 KB model fits, the run's 0.5 MB checkpoint (the
    balanced preset: depth 3 / base 8) does not."""
    images, masks = write_pairs(tmp_path)
    with tmpfs_at(tmp_path / "small-disk", "size=256k") as disk:
        out = write_tiny_model(disk / "model.pt")
        before = out.read_bytes()
        result = run_cli(*_train_args(images, masks, out, "--max-steps", "2", "--overwrite", "--preset", "balanced"))
        assert_one_line_error(result, "disk full", f"{out} is unchanged")
        assert out.read_bytes() == before and sorted(p.name for p in disk.iterdir()) == ["model.pt"]


def test_wrong_size_labels_are_in_the_summary_and_the_exit_status(tmp_path):
    """On main the pair was skipped with a log line and the run exited 0."""
    import cv2
    import numpy as np

    images, masks = write_pairs(tmp_path)
    cv2.imwrite(str(images / "odd.png"), np.zeros((48, 48), np.uint8))
    cv2.imwrite(str(masks / "odd.png"), np.zeros((40, 40), np.uint8))
    result = run_cli(*_train_args(images, masks, tmp_path / "model.pt", "--max-steps", "2"))
    assert result.returncode == 1, result.stderr
    assert "skipped" in result.stderr and "odd.png" in result.stderr
    assert result.stderr.splitlines()[-1] == "1 input file(s) skipped (listed above)"
    assert load_checkpoint(tmp_path / "model.pt").history["steps"] == [2]


def test_labels_with_hundreds_of_values_need_classes_confirmed(tmp_path, capsys):
    """uint16 labels 0..300 (instance labels, most likely) trained a 301-output model on main without a word."""
    import numpy as np
    import tifffile

    images, masks = write_pairs(tmp_path)
    for path in list(masks.iterdir()):
        path.unlink()
        tifffile.imwrite(masks / f"{path.stem}.tif", np.arange(48 * 48, dtype=np.uint16).reshape(48, 48) % 301)
    out = tmp_path / "model.pt"
    refused = run_cli(*_train_args(images, masks, out, "--max-steps", "1"))
    assert_one_line_error(refused, "300 object classes", "--classes 300")
    assert not out.exists()
    assert main([*map(str, _train_args(images, masks, out, "--max-steps", "1", "--classes", "300"))]) == 0
    assert load_checkpoint(out).model_config.num_classes == 301
    capsys.readouterr()
