"""Live training in the window, driven as a user would: Live on, paint, pause, keep, stop (tiny model,
64 x 64 blob images, a real run in its thread)."""

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from tests.conftest import make_blobs
from tests.gui.helpers import drag, make_project
from tests.gui.training_helpers import TINY
from unet_studio.gui import training_worker
from unet_studio.models.checkpoint import load_checkpoint

pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path):
    """Four blob images, background 1 / object 2; img_00 and img_01 labelled, img_02 and img_03 not."""
    project = make_project(tmp_path / "project", n_images=4)
    project.remove_class(3)
    for i, record in enumerate(project.images[:2]):
        _, mask = make_blobs((64, 64), seed=i)
        project.save_annotation(record.id, mask.astype(np.uint8) + 1)
    return project


def start_live(window, qtbot, settings=TINY):
    docks = window.training_docks
    docks.training.form.set_settings(settings)
    action = window.findChild(QAction, "liveTrainingAction")
    assert action.isEnabled() and action.isCheckable()
    action.trigger()
    assert action.isChecked() and docks.training.live
    qtbot.waitUntil(lambda: docks.live.step >= 3 or not docks.training.running, timeout=60000)
    assert docks.training.running, docks.training.message_label.text()
    return docks.live


def item_target(worker, image_id: str) -> np.ndarray:
    """The training target the run uses now for an image (read from the GUI thread: a snapshot)."""
    items = list(worker._trainer.train_items)
    return next(item.target for item in items if Path(item.name).stem == image_id)


def test_strokes_painted_while_live_join_the_run_and_so_does_a_new_image(window, docks, qtbot):
    live = start_live(window, qtbot)
    worker, labels = docks.training.worker, window.document.labels
    rows, cols = np.nonzero(labels[8:56, 8:56] == 1)
    row, col = int(rows[0]) + 8, int(cols[0]) + 8  # background now: the stroke makes it object
    window.tools.set_brush_size(3)
    with qtbot.waitSignal(live.labels_reloaded, timeout=20000) as reloaded:
        drag(window.canvas, [(row, col)])
    event = reloaded.args[0]
    assert event.version >= 1 and event.changed == ("img_00",) and event.train_images == 2
    assert item_target(worker, "img_00")[row, col] == 1  # class 2 = network class 1
    qtbot.waitUntil(lambda: live.step > event.step + 2, timeout=20000)  # later steps train on it

    window.document.set_image("img_02")
    window.class_list.select_row(0)
    drag(window.canvas, [(2, 2), (2, 60)])
    window.class_list.select_row(1)
    drag(window.canvas, [(40, 10), (40, 50)])
    qtbot.waitUntil(lambda: live.last_reload.train_images == 3 and "img_02" in live.last_reload.changed
                    and item_target(worker, "img_02")[40, 30] == 1, timeout=20000)
    assert live.last_reload.version > event.version and item_target(worker, "img_02")[2, 30] == 0
    label = window.findChild(QLabel, "liveStatusLabel")
    qtbot.waitUntil(lambda: window.training_docks.state.is_preview, timeout=20000)
    qtbot.waitUntil(lambda: re.fullmatch(r"live: step \d+, preview from step \d+, labels v\d+", label.text())
                    is not None, timeout=5000)


def test_pause_holds_the_steps_keep_registers_a_model_and_stop_leaves_one(window, docks, qtbot):
    project = window.document.project
    live = start_live(window, qtbot)
    label = window.findChild(QLabel, "liveStatusLabel")
    window.findChild(QAction, "pauseTrainingAction").trigger()
    qtbot.wait(600)  # the step in flight lands
    paused_at = live.step
    qtbot.wait(1500)
    assert live.step == paused_at
    qtbot.waitUntil(lambda: label.text().endswith("paused"), timeout=2000)
    with qtbot.waitSignal(live.model_kept, timeout=20000) as kept:  # served while paused
        window.findChild(QAction, "keepModelAction").trigger()
    path = kept.args[0]
    assert path in [project.model_path(m.id) for m in project.models]
    assert project.active_model is not None  # the first model becomes active
    load_checkpoint(path).build_model()
    window.findChild(QAction, "pauseTrainingAction").trigger()
    qtbot.waitUntil(lambda: live.step > paused_at + 2, timeout=20000)
    with qtbot.waitSignal(docks.training.training_finished, timeout=30000) as finished:
        window.findChild(QAction, "liveTrainingAction").trigger()  # unchecked: stop
    event = finished.args[0]
    assert event is not None and event.checkpoint_path.is_file() and not event.interrupted
    load_checkpoint(event.checkpoint_path).build_model()
    assert len(project.models) == 2 and not docks.training.running
    assert not window.findChild(QAction, "liveTrainingAction").isChecked()
    assert label.text() == f"live: stopped at step {live.step}"


def test_the_preview_follows_the_weights_viewport_first_with_no_button_pressed(window, docks, qtbot, monkeypatch):
    monkeypatch.setattr(training_worker, "PREVIEW_EVERY_S", 0.5)
    window.canvas.zoom_by(4.0)  # 16x: only part of the 64 x 64 image is on screen
    window.canvas.centerOn(20, 20)
    frames = []
    docks.training.preview_ready.connect(frames.append)
    no_epoch_end = {**TINY.train_overrides, "steps_per_epoch": 100_000}  # only the worker's previews
    start_live(window, qtbot, replace(TINY, train_overrides=no_epoch_end))
    qtbot.waitUntil(lambda: len({f.step for f in frames if f.region == frames[0].region}) >= 3, timeout=60000)
    first = frames[0].region
    assert first is not None and first != (0, 0, 64, 64)
    cover = np.zeros((64, 64), np.int32)
    for frame in frames:
        if frame.region == first and cover.any():
            break  # the next round
        y0, x0, y1, x1 = frame.region
        cover[y0:y1, x0:x1] += 1
        assert frame.probabilities.shape == (2, y1 - y0, x1 - x0) == (2, *frame.uncertainty.shape)
    assert (cover == 1).all()  # the viewport, then the rest, once each
    steps = [f.step for f in frames if f.region == first]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    state = docks.state
    assert state.is_preview and state.preview_step >= steps[0] and docks.overlay.buffer.shape == (64, 64)


def test_unlabelled_images_are_scored_and_uncertainty_shows(window, docks, qtbot):
    start_live(window, qtbot)
    browser = window.browser
    model = browser.model
    qtbot.waitUntil(lambda: all(model.uncertainty(model.record_at(r)) is not None for r in (2, 3)), timeout=30000)
    assert model.uncertainty(model.record_at(0)) is None  # labelled: not scored
    browser.uncertain_button.click()
    scores = {image_id: model.uncertainty(model.record_at(model.row_of(image_id))) for image_id in ("img_02", "img_03")}
    first_two = browser.visible_ids()[:2]
    assert set(first_two) == set(scores) and scores[first_two[0]] >= scores[first_two[1]]
    window.actions["uncertaintyAction"].trigger()
    assert docks.uncertainty.isVisible()
    qtbot.waitUntil(lambda: docks.uncertainty.buffer.shape == (64, 64), timeout=20000)
