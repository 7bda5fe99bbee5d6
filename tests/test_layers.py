"""The layer rule of docs/ARCHITECTURE.md: each package imports only from its own layer or lower ones."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "unet_studio"
RANK = {"core": 0, "models": 1, "data": 1, "runtime": 1, "training": 2, "inference": 2, "export": 2, "cli": 3, "gui": 4}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "unet_studio" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path):
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else None
    for module in _imports(path):
        if module.split(".")[0] in {"PySide6", "pyqtgraph", "superqt", "shiboken6"}:
            assert own == "gui", f"{rel} imports {module}: only unet_studio.gui may import Qt"
        target = _layer(module)
        if own is None or target is None or target not in RANK:
            continue
        if own == "cli" and target == "gui":
            continue  # the entry point starts the window (lazily, inside a function)
        assert RANK[target] <= RANK[own], f"{rel} imports {module}: layer {own} may not import from {target}"
