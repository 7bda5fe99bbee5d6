"""The training dock driven for real: a tiny model trains on a synthetic project off the GUI thread."""

import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton, QSpinBox

from tests.gui.helpers import make_project
from tests.gui.training_helpers import TINY, gaps_ms, labelled_project
from unet_studio.gui.document import AnnotationDocument
from unet_studio.gui.loss_plot import LossPlot
from unet_studio.gui.prediction_overlay import PredictionOverlayItem
from unet_studio.gui.prediction_state import PredictionState
from unet_studio.gui.training_panel import TrainingPanel
from unet_studio.gui.training_settings import TrainingSettings

pytestmark = pytest.mark.gui


def make_panel(qtbot, project):
    document = AnnotationDocument()
    panel = TrainingPanel(document)
    qtbot.addWidget(panel)
    document.set_project(project)
    document.set_image(project.images[0].id)
    panel.form.set_settings(TINY)
    return document, panel


def test_train_is_disabled_with_the_reason_until_two_classes_are_labelled(qtbot, tmp_path):
    document, panel = make_panel(qtbot, make_project(tmp_path / "p", n_images=2))
    button = panel.findChild(QPushButton, "trainButton")
    assert not button.isEnabled()
    assert "no labelled pixels" in button.toolTip() and "no labelled pixels" in panel.reason_label.text()
    document.labels[:10, :10] = 2
    document.labels_edited(None)
    qtbot.waitUntil(lambda: "only class 1 is labelled" in button.toolTip(), timeout=3000)
    assert not button.isEnabled()
    document.labels[20:30, :10] = 1
    document.labels_edited(None)
    qtbot.waitUntil(button.isEnabled, timeout=3000)
    assert panel.reason_label.text() == ""
    assert not panel.findChild(QPushButton, "fineTuneButton").isEnabled()  # no model yet
    assert not panel.findChild(QPushButton, "stopButton").isEnabled()


def test_form_round_trips_settings_and_lists_devices(qtbot, tmp_path):
    _, panel = make_panel(qtbot, labelled_project(tmp_path / "p", n_images=2))
    settings = replace(TINY, arch="attention-unet", preset="balanced", loss="dice", limit="epochs", epochs=7)
    panel.form.set_settings(settings)
    assert panel.form.settings() == settings
    assert TrainingSettings.from_dict(settings.to_dict()) == settings
    assert panel.findChild(QSpinBox, "trainSecondsSpin").isHidden()
    assert "CUDA" in panel.form.device_label.toolTip()
    cuda = panel.form.device.findData("cuda")
    assert not panel.form.device.model().item(cuda).isEnabled()  # CPU build here: listed, with the reason
    assert "CUDA" in panel.form.device.itemData(cuda, 3)
    config = settings.train_config()
    assert config.epochs == 7 and config.max_seconds is None and config.loss == "dice"


def test_training_runs_off_the_gui_thread_and_stops_within_a_batch(qtbot, tmp_path):
    project = labelled_project(tmp_path / "p")
    document, panel = make_panel(qtbot, project)
    state = PredictionState(document)
    overlay = PredictionOverlayItem(state)
    panel.preview_ready.connect(state.set_preview)
    stamps: list[float] = []
    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: stamps.append(time.perf_counter()))
    ticker.start()
    with qtbot.waitSignal(panel.training_started, timeout=2000):
        assert panel.findChild(QPushButton, "trainButton").isEnabled()
        qtbot.mouseClick(panel.findChild(QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    assert panel.running and not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.curves.epoch_steps) >= 2 and state.mask is not None, timeout=30000)
    with qtbot.waitSignal(panel.training_finished, timeout=10000) as finished:
        stop_time = time.perf_counter()
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    stop_delay = time.perf_counter() - stop_time
    ticker.stop()
    event = finished.args[0]
    assert event.interrupted and "stopped" in event.reason
    assert stop_delay < 5.0
    assert not panel.running and panel.train_button.isEnabled()
    plot = panel.findChild(LossPlot, "lossPlot")
    xs, ys = plot.train_curve.getData()
    assert len(xs) >= 6 and np.isfinite(ys).all()
    assert len(plot.val_curve.getData()[0]) >= 2 and len(panel.dice_plot.dice_curve.getData()[0]) >= 2
    assert project.active_model is not None
    assert project.model_path(project.active_model).is_file() and event.checkpoint_path.is_file()
    assert state.is_preview and state.mask.shape == document.labels.shape
    assert overlay.buffer.shape == document.labels.shape
    assert "epoch" in panel.stats_label.text() and "patches/s" in panel.stats_label.text()
    assert panel.fine_tune_button.isEnabled()
    gaps = gaps_ms(stamps)
    assert len(gaps) >= 10 and np.percentile(gaps, 99) < 250, gaps.max()


def test_fine_tune_starts_from_the_active_model(qtbot, tmp_path):
    project = labelled_project(tmp_path / "p", n_images=2)
    _, panel = make_panel(qtbot, project)
    panel.form.set_settings(replace(TINY, limit="epochs", epochs=1))
    with qtbot.waitSignal(panel.training_finished, timeout=30000) as first:
        panel.start()
    assert first.args[0] is not None and not first.args[0].interrupted
    with qtbot.waitSignal(panel.training_finished, timeout=30000) as second:
        assert panel.start(fine_tune=True)
    assert second.args[0] is not None
    assert len(project.models) == 2 and project.models[1].name.endswith("fine-tuned")
    assert project.active_model == project.models[0].id  # the quality check decides on a switch (gui/qc.py)


def test_a_failing_run_shows_one_line_and_resets(qtbot, tmp_path):
    project = labelled_project(tmp_path / "p", n_images=2)
    _, panel = make_panel(qtbot, project)
    bad = replace(TINY, arch="unetpp", model_overrides={"depth": 2, "base_channels": 4, "padding": "valid"})
    panel.form.set_settings(bad)
    assert not panel.start()  # U-Net++ with valid padding: refused before any thread starts
    assert "padding" in panel.message_label.text() and "\n" not in panel.message_label.text()
    for record in project.images:  # labelled, but only as test images: the worker finds nothing to train on
        project.set_split(record.id, "test")
    panel.form.set_settings(TINY)
    with qtbot.waitSignal(panel.training_finished, timeout=30000) as done:
        assert panel.start()
    assert done.args[0] is None
    assert "no labelled training image" in panel.message_label.text()
    assert "\n" not in panel.message_label.text() and panel.message_label.text()
    assert not panel.running and not panel.stop_button.isEnabled()
