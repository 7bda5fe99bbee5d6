"""Model files are data, never code: every torch.load is weights_only, crafted pickles are refused."""

from __future__ import annotations

import ast
import io
import pickle
from pathlib import Path

import pytest
import torch

from tests.reliability.read_probe import ROOT
from tests.reliability.test_bad_inputs import run_cli, tiny_checkpoint
from unet_studio.core.errors import ModelFileError
from unet_studio.models.checkpoint import FORMAT, load_checkpoint

SOURCE_FOLDERS = ("unet_studio", "tests", "benchmarks")


class MarkerPayload:
    """Unpickling this writes a marker file: what a malicious model file would do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


def _torch_loads(tree: ast.AST):
    """Calls of torch.load / torch.serialization.load / a bare `load` imported from torch."""
    from_torch = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                  and node.module in ("torch", "torch.serialization") for alias in node.names if alias.name == "load"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        if name in ("torch.load", "torch.serialization.load") or name in from_torch:
            yield node


def test_every_torch_load_in_the_repository_is_weights_only():
    calls = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for call in _torch_loads(tree):
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                flags = {k.arg: k.value for k in call.keywords}
                safe = isinstance(flags.get("weights_only"), ast.Constant) and flags["weights_only"].value is True
                calls.append((where, safe))
    assert calls, "the scan found no torch.load at all: the scanner is broken"
    assert [where for where, safe in calls if not safe] == []


def test_no_pickle_loading_in_the_package():
    offenders = []
    for path in sorted((ROOT / "unet_studio").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("pickle.load", "pickle.loads"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _evil_files(folder: Path, marker: Path) -> list[Path]:
    raw = folder / "raw_pickle.pt"
    raw.write_bytes(pickle.dumps(MarkerPayload(marker)))
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "format_version": 1, "model_config": {}, "state_dict": MarkerPayload(marker)},
               buffer)
    wrapped = folder / "wrapped_checkpoint.pt"
    wrapped.write_bytes(buffer.getvalue())
    return [raw, wrapped]


def test_marker_payload_really_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(MarkerPayload(marker)))
    assert marker.read_text() == "code ran"


def test_load_checkpoint_refuses_crafted_pickles_without_running_them(tmp_path):
    marker = tmp_path / "marker"
    for path in _evil_files(tmp_path, marker):
        with pytest.raises(ModelFileError) as caught:
            load_checkpoint(path)
        message = str(caught.value)
        assert message.startswith(str(path)) and "refused" in message and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize(("command", "which"), [("info", 0), ("info", 1), ("predict", 1)])
def test_cli_refuses_crafted_pickles_in_one_line(tmp_path, command, which):
    marker = tmp_path / "marker"
    images = tmp_path / "images"
    images.mkdir()
    tiny_checkpoint(images.parent / "genuine.pt")
    for path in _evil_files(tmp_path, marker)[which : which + 1]:
        if command == "info":
            done = run_cli("info", path)
        else:
            done = run_cli("predict", "--model", path, "--images", images, "--out", tmp_path / "out")
        output = done.stdout + done.stderr
        assert done.returncode != 0 and "Traceback" not in output, output
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1 and path.name in lines[0] and "refused" in lines[0], output
    assert not marker.exists()
