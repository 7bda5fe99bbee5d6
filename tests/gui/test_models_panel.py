"""The models dock: list, set active, rename, delete with confirmation."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox, QTableWidget

from tests.gui.helpers import make_project
from tests.gui.training_helpers import tiny_checkpoint  # noqa: F401 (fixture)
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.models_panel import ACTIVE_MARK, ModelsPanel

pytestmark = pytest.mark.gui


@pytest.fixture
def panel(qtbot, tmp_path, tiny_checkpoint):
    project = make_project(tmp_path / "p", n_images=1)
    project.add_model(tiny_checkpoint, "first", "unet", 3, 0.71)
    project.add_model(tiny_checkpoint, "second", "attention-unet", 5, None)
    project.set_active_model("model-1")
    document = AnnotationDocument()
    widget = ModelsPanel(document)
    qtbot.addWidget(widget)
    document.set_project(project)
    return widget


def _select(panel, model_id):
    """Click the table row of `model_id`, as a user would."""
    for row in range(panel.table.rowCount()):
        if panel.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == model_id:
            panel.table.selectRow(row)

def texts(table: QTableWidget, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]


def test_lists_models_with_their_facts(panel):
    table = panel.findChild(QTableWidget, "modelsTable")
    assert table.rowCount() == 2
    first, second = texts(table, 0), texts(table, 1)
    assert first[0] == ACTIVE_MARK and first[1] == "first" and first[3] == "U-Net" and first[4] == "3"
    assert first[5] == "0.710" and len(first[2]) == 16
    assert second[0] == "" and second[3] == "Attention U-Net" and second[5] == ""
    assert not panel.delete_button.isEnabled()


def test_set_active_and_rename(panel, monkeypatch):
    project = panel.document.project
    _select(panel, "model-2")
    with_signal = []
    panel.models_changed.connect(lambda: with_signal.append(1))
    assert panel.set_active() and project.active_model == "model-2"
    assert texts(panel.table, 1)[0] == ACTIVE_MARK
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("  renamed ", True))
    assert panel.rename()
    assert project.model("model-2").name == "renamed" and texts(panel.table, 1)[1] == "renamed"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("other", False))
    assert not panel.rename()
    assert len(with_signal) == 2


def test_delete_asks_first(panel, monkeypatch):
    project = panel.document.project
    path = project.model_path("model-1")
    _select(panel, "model-1")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert not panel.delete() and path.is_file()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.delete()
    assert not path.is_file() and [m.id for m in project.models] == ["model-2"]
    assert project.active_model is None and panel.table.rowCount() == 1
