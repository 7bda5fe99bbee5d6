"""`unet-studio train PROJECT --watch`: labels written while it runs are reloaded, SIGINT registers the model."""

from __future__ import annotations

import signal
import subprocess

from tests.cli.helpers import TINY_TRAIN, assert_one_line_error, run_cli, start_cli
from tests.live_project import blob_annotation, make_project
from unet_studio.core.project import Project
from unet_studio.models.checkpoint import load_checkpoint


def _read_until(process: subprocess.Popen, prefix: str, lines: list[str]) -> str:
    """Append stderr lines to `lines` up to the first that starts with `prefix`; return that line."""
    for line in process.stderr:
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines[-1]
    raise AssertionError(f"the run ended before a line starting {prefix!r}:\n" + "\n".join(lines))


def test_watch_reloads_labels_written_while_it_runs_and_registers_the_model_on_sigint(tmp_path):
    project = make_project(tmp_path, count=2, labelled=1)
    run = start_cli("train", project.folder, "--watch", "--save-every", "1", "--steps-per-epoch", "4", *TINY_TRAIN)
    lines: list[str] = []
    try:
        assert "1 labelled image(s)" in _read_until(run, "live training on", lines)
        project.save_annotation("img1", blob_annotation(1))  # a user labels the second image meanwhile
        reload = _read_until(run, "labels reloaded", lines)
        assert "(version 1)" in reload and "2 training" in reload and "changed: img1" in reload, lines
        kept = _read_until(run, "current model (step", lines)
        current = kept.rsplit(" written to ", 1)[1]
        assert load_checkpoint(current).model_config.num_classes == 2
        run.send_signal(signal.SIGINT)
        rest = run.stderr.read().splitlines()
        code = run.wait(timeout=120)
    finally:
        run.kill()
    assert code == 0, lines + rest
    assert any(line.startswith("finished: live training stopped after") for line in rest), rest
    reopened = Project.open(project.folder)
    assert reopened.active_model == reopened.models[0].id
    checkpoint = load_checkpoint(reopened.model_path(reopened.active_model))
    assert sorted(image["name"] for image in checkpoint.history["images"]) == ["img0.png", "img1.png"]
    assert not any(p.name.endswith((".current.pt", ".lock")) or ".run-" in p.name
                   for p in (project.folder / "models").iterdir())


def test_watch_refuses_folders_and_limits_in_one_line(tmp_path):
    project = make_project(tmp_path, count=1)
    folders = run_cli("train", "--images", tmp_path / "source", "--labels", tmp_path / "source",
                      "--out", tmp_path / "m.pt", "--watch")
    assert_one_line_error(folders, "--watch", "--images/--labels folders are not watched")
    limits = run_cli("train", project.folder, "--watch", "--max-seconds", "5")
    assert_one_line_error(limits, "--watch", "leave out --max-seconds")
