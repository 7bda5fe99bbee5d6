"""Atomic writes: all or nothing, no temp files left, one-line errors; plus the error message format."""

import errno
import json
import os

import pytest

from unet_studio.core import atomic
from unet_studio.core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, atomic_writer
from unet_studio.core.errors import ImageReadError, ProjectError, StudioError, TrainingError


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def test_error_message_is_path_colon_reason_on_one_line():
    err = ImageReadError("cells/a.tif", "cannot read image\n(truncated   file)")
    assert str(err) == "cells/a.tif: cannot read image (truncated file)"
    assert err.path == "cells/a.tif" and isinstance(err, StudioError)


def test_plain_message_form_works():
    assert str(TrainingError("no labelled images")) == "no labelled images"
    assert TrainingError("x").path is None


def test_writes_bytes_text_and_json(tmp_path):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "a.txt", "héllo")
    atomic_write_json(tmp_path / "a.json", {"b": [1, 2], "é": None})
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == {"b": [1, 2], "é": None}
    assert _leftovers(tmp_path) == []


def test_replace_keeps_mode_of_existing_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o640


def test_exception_inside_block_leaves_old_file(tmp_path):
    target = tmp_path / "mask.png"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old contents"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_os_failure_leaves_old_file_and_explains(tmp_path, monkeypatch, failing):
    target = tmp_path / "project.json"
    target.write_bytes(b'{"old": true}')

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, fail)
    with pytest.raises(ProjectError) as info:
        atomic_write_bytes(target, b'{"new": true}')
    monkeypatch.undo()
    assert target.read_bytes() == b'{"old": true}'
    assert _leftovers(tmp_path) == []
    assert str(info.value) == f"{target}: cannot write (disk full)"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_read_only_folder_gives_one_line_project_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(ProjectError) as info:
            atomic_write_text(folder / "a.txt", "x")
    finally:
        os.chmod(folder, 0o755)
    message = str(info.value)
    assert "\n" not in message and "a.txt" in message and "permission denied" in message


def test_missing_folder_is_explained(tmp_path):
    with pytest.raises(ProjectError, match="folder does not exist"):
        atomic_write_text(tmp_path / "nope" / "a.txt", "x")


def test_permission_error_is_explained(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(ProjectError, match=r"a\.txt: cannot write \(permission denied"):
        atomic_write_text(tmp_path / "a.txt", "x")
