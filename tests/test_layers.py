"""The floors of docs/ARCHITECTURE.md, as import-linter contracts in pyproject.toml: each floor imports only
the floors below it, only `unet_studio.gui` imports Qt, and no two sibling packages or modules import each
other (directly or round a circle)."""

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_every_package_has_a_floor():
    """A new package under unet_studio/ must be given its floor, or the layers contract would not see it."""
    layers = next(c for c in _contracts() if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    packages = {f"unet_studio.{p.stem}" for p in (ROOT / "unet_studio").iterdir()
                if (p / "__init__.py").exists() or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))}
    assert packages <= named, f"not in the layers contract: {sorted(packages - named)}"
