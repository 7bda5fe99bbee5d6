"""File > Import labels: masks merged into the annotations, the shown image reloaded, its history dropped."""

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from tests.gui.helpers import drag
from unet_studio.gui import dialogs

pytestmark = pytest.mark.gui


def test_import_masks_from_the_file_menu(window, tmp_path, monkeypatch):
    doc = window.document
    drag(window.canvas, [(5, 5), (5, 10)])  # a stroke, so the image has history
    assert doc.history(doc.image_id).count() == 1
    folder = tmp_path / "masks"
    folder.mkdir()
    mask = np.zeros(doc.labels.shape, np.uint8)
    mask[30:40, 30:40] = 1
    cv2.imwrite(str(folder / "img_00.png"), mask)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a: str(folder))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (next(iter(dialogs.IMPORT_KINDS)), True))
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    window.findChild(type(window.actions["importLabelsAction"]), "importLabelsAction").trigger()
    assert shown and shown[0].startswith("Imported labels for 1 image")
    np.testing.assert_array_equal(doc.labels, mask + 1)  # a full mask replaces the stroke
    assert doc.history(doc.image_id).count() == 0
    assert doc.project.image(doc.image_id).status == "labelled"
