"""The Train button on a project whose big image holds labels painted in chunks: enabled from the chunk
index, and the run in the background reads the big image a window at a time (no whole-image array)."""

from dataclasses import replace

import pytest

from tests.gui.training_helpers import TINY
from tests.training.helpers import big_image_project
from unet_studio.data import lazy_patches
from unet_studio.gui.tiled_document import BigImageDocument
from unet_studio.gui.training_panel import TrainingPanel
from unet_studio.io import multiscale_image

pytestmark = pytest.mark.gui
pytest.importorskip("zarr")


def test_train_button_trains_on_a_big_images_chunks(qtbot, tmp_path, monkeypatch):
    project, _ = big_image_project(tmp_path, small=False)
    monkeypatch.setattr(lazy_patches, "RANGE_PIXELS", 100 * 100)
    reads = []
    original = multiscale_image.MultiscaleImage.read
    monkeypatch.setattr(multiscale_image.MultiscaleImage, "read",
                        lambda self, level, *box: reads.append((level, box)) or original(self, level, *box))
    document = BigImageDocument()
    panel = TrainingPanel(document)
    qtbot.addWidget(panel)
    document.set_project(project)
    assert document.set_image("big") and document.big is not None and document.image is None
    panel.form.set_settings(replace(TINY, limit="epochs", epochs=1))
    qtbot.waitUntil(panel.train_button.isEnabled, timeout=3000)  # the chunk index holds both classes
    with qtbot.waitSignal(panel.training_finished, timeout=60000) as done:
        assert panel.start()
    assert done.args[0] is not None and not done.args[0].interrupted
    assert len(project.models) == 1
    level0 = [(y1 - y0, x1 - x0) for level, (y0, y1, x0, x1) in reads if level == 0]
    assert level0 and all(h <= 64 and w <= 64 for h, w in level0)  # patch 32 with its context, never whole
