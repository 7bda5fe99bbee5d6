"""Kill a writer with SIGKILL at random moments and check every file is its previous or its new version.

A long-lived "zygote" child (``python -m tests.reliability.crash_harness --zygote FOLDER``) imports torch
and the project code once, then forks one writer per trial, so a trial costs milliseconds, not an
interpreter start. Before each write the writer reports what it is about to write (an annotation
version, the hash of the manifest, a checkpoint version) down a pipe; after the kill the caller checks
that the project opens and each file holds the last reported version or the one before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
IMAGE_ID, SHAPE, CHECKPOINT = "img", (24, 20), "models/writer.pt"
KINDS = ("annotation", "manifest", "checkpoint")


def labels_for(version: int) -> np.ndarray:
    """A label image that encodes ``version``; every third version needs uint16 (TIFF), the rest PNG."""
    labels = np.full(SHAPE, 2, np.uint16)
    labels[0, 0], labels[0, 1] = version // 200 + 1, version % 200 + 1
    labels[1, 1] = 300 if version % 3 == 0 else 3
    return labels


def version_of(labels: np.ndarray) -> int:
    return (int(labels[0, 0]) - 1) * 200 + int(labels[0, 1]) - 1


def manifest_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Summary:
    """What the trials saw: files decoded and checked, and every way a file was wrong."""

    trials: int = 0
    files_checked: int = 0
    writes_started: int = 0
    temp_files_left: int = 0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"trials": self.trials, "files_checked": self.files_checked, "writes_started": self.writes_started,
                "temp_files_left": self.temp_files_left, "failures": len(self.failures),
                "failure_messages": self.failures[:20]}


def prepare(folder: Path) -> dict:
    """A project with one image, annotation version 0 and checkpoint version 0; returns the on-disk state."""
    import cv2

    from unet_studio.core.project import Project

    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / f"{IMAGE_ID}.png"), np.zeros(SHAPE, np.uint8))
    project = Project.create(folder, [folder / "images" / f"{IMAGE_ID}.png"])
    project.save_annotation(IMAGE_ID, labels_for(0))
    _save_checkpoint(folder, _tiny_model(), 0)
    return {"annotation": 0, "checkpoint": 0, "manifest": manifest_hash(project.manifest.to_dict())}


def _tiny_model():
    import torch

    from unet_studio.models import ModelConfig, build_model

    torch.manual_seed(0)
    config = ModelConfig(in_channels=1, num_classes=2, depth=2, base_channels=4)
    return config, build_model(config)


def _save_checkpoint(folder: Path, config_and_model, version: int) -> None:
    import torch

    from unet_studio.models.checkpoint import save_checkpoint

    config, model = config_and_model
    with torch.no_grad():
        next(model.parameters()).fill_(float(version))
    save_checkpoint(folder / CHECKPOINT, model, config, [{"value": 1, "name": "background", "color": "#000000"}],
                    None, {"version": version}, {})


def _checkpoint_version(path: Path) -> int:
    from unet_studio.models.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path)
    version = int(checkpoint.history["version"])
    first = next(iter(checkpoint.state_dict.values()))
    if not bool((first == float(version)).all()):
        raise AssertionError(f"{path}: weights do not match history version {version} (mixed file)")
    return version


def write_forever(folder: Path, config_and_model, report) -> None:
    """The writer: annotation, status, class, settings and checkpoint saves in a loop, each reported first."""
    from unet_studio.core import project as project_module
    from unet_studio.core.manifest import STATUSES

    real_save = project_module.save_manifest

    def reporting_save(path, manifest):
        report("manifest", manifest_hash(manifest.to_dict()))
        real_save(path, manifest)

    project_module.save_manifest = reporting_save
    project = project_module.Project.open(folder)
    annotation = version_of(project.load_annotation(IMAGE_ID))
    checkpoint = _checkpoint_version(folder / CHECKPOINT)
    while True:
        annotation += 1
        report("annotation", annotation)
        project.save_annotation(IMAGE_ID, labels_for(annotation))
        project.set_status(IMAGE_ID, STATUSES[annotation % len(STATUSES)])
        if annotation % 5 == 0:
            project.add_class(f"class v{annotation}")
        project.update_settings(writer_round=annotation)
        checkpoint += 1
        report("checkpoint", checkpoint)
        _save_checkpoint(folder, config_and_model, checkpoint)


def _allowed(before, started: list) -> set:
    if not started:
        return {before}
    return {started[-1], started[-2] if len(started) > 1 else before}


def check(folder: Path, state: dict, started: dict[str, list], summary: Summary) -> dict:
    """Check every file after a kill; return the new on-disk state (failures go into ``summary``)."""
    from unet_studio.core.annotations import read_annotation
    from unet_studio.core.project import Project

    observed = dict(state)
    try:
        project = Project.open(folder)
        observed["manifest"] = manifest_hash(json.loads((folder / "project.json").read_text()))
        for path in sorted((folder / "annotations").iterdir()):
            if not path.name.startswith("."):
                read_annotation(path, SHAPE)
                summary.files_checked += 1
        observed["annotation"] = version_of(project.load_annotation(IMAGE_ID))
        observed["checkpoint"] = _checkpoint_version(folder / CHECKPOINT)
        summary.files_checked += 2
    except Exception as exc:  # noqa: BLE001 - any failure to read back is what this test counts
        summary.failures.append(f"trial {summary.trials}: {type(exc).__name__}: {exc}")
        return state
    for kind in KINDS:
        allowed = _allowed(state[kind], started[kind])
        if observed[kind] not in allowed:
            summary.failures.append(f"trial {summary.trials}: {kind} is {observed[kind]}, expected one of {allowed}")
    for temp in [*folder.glob(".*.tmp-*"), *folder.glob("*/.*.tmp-*")]:
        summary.temp_files_left += 1
        temp.unlink()
    return observed


def run_trials(folder: Path, trials: int, seed: int = 0, max_delay_s: float = 0.25) -> Summary:
    """Prepare a project in ``folder`` and run ``trials`` kill trials against it."""
    state = prepare(folder)
    summary = Summary()
    rng = random.Random(seed)
    zygote = subprocess.Popen([sys.executable, "-m", "tests.reliability.crash_harness", "--zygote", str(folder)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if zygote.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer process did not start")
        for _ in range(trials):
            zygote.stdin.write(f"{rng.uniform(0.0, max_delay_s):.4f}\n")
            zygote.stdin.flush()
            started = {kind: [] for kind in KINDS}
            for kind, value in json.loads(zygote.stdout.readline()):
                started[kind].append(value)
            summary.writes_started += sum(map(len, started.values()))
            state = check(folder, state, started, summary)
            summary.trials += 1
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    return summary


def _zygote(folder: Path) -> None:
    """Fork one writer per line on stdin, kill it after that many seconds, print what it had started."""
    import torch

    import unet_studio.core.project  # noqa: F401 - imported once here, not in every forked writer
    import unet_studio.models.checkpoint  # noqa: F401

    torch.set_num_threads(1)
    config_and_model = _tiny_model()
    print("ready", flush=True)
    for line in sys.stdin:
        delay = float(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                write_forever(folder, config_and_model,
                              lambda kind, value: os.write(write_end, (json.dumps([kind, value]) + "\n").encode()))
            finally:
                os._exit(1)
        os.close(write_end)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            reports = [json.loads(line) for line in pipe.read().decode().splitlines() if line.strip()]
        print(json.dumps(reports), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["--zygote"]:
    _zygote(Path(sys.argv[2]))
