"""The training worker: a frozen job (no live Project on the training thread), previews from the Trainer's
in-memory weights within the first epoch, one worker base, and the budget the panel promises."""

import threading
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox

from tests.gui.test_training_panel import make_panel
from tests.gui.training_helpers import TINY, labelled_project
from unet_studio.core.project import Project
from unet_studio.gui import training_worker
from unet_studio.gui.training_progress import budget_summary
from unet_studio.gui.workers import JobWorker, start_worker, wait_for, worker_threads
from unet_studio.inference.predictor import Predictor
from unet_studio.training.config import TrainConfig

pytestmark = pytest.mark.gui


def test_preview_comes_from_memory_within_the_first_epoch(qtbot, tmp_path, monkeypatch):
    def no_reload(*_args, **_kwargs):
        raise AssertionError("the preview must not reload the checkpoint")

    monkeypatch.setattr(Predictor, "from_checkpoint", no_reload)
    monkeypatch.setattr(training_worker, "PREVIEW_EVERY_S", 0.2)
    document, panel = make_panel(qtbot, labelled_project(tmp_path / "p"))
    panel.form.set_settings(replace(TINY, train_overrides={**TINY.train_overrides, "steps_per_epoch": 100_000}))
    previews = []
    panel.preview_ready.connect(lambda frame: previews.append((frame.image_id, frame.probabilities.shape)))
    assert panel.start()
    qtbot.waitUntil(lambda: len(previews) >= 2, timeout=60000)
    assert not panel.curves.epoch_steps  # no epoch has ended: these previews came between steps
    assert previews[0] == (document.image_id, (2, *document.labels.shape))
    with qtbot.waitSignal(panel.training_finished, timeout=30000):
        panel.stop()


def test_the_training_thread_never_reads_the_live_project(qtbot, tmp_path, monkeypatch):
    readers = set()
    for name in ("load_annotation", "annotation_path", "image_path", "image"):
        original = getattr(Project, name)

        def spy(self, *args, _original=original, **kwargs):
            readers.add(threading.current_thread().name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Project, name, spy)
    _, panel = make_panel(qtbot, labelled_project(tmp_path / "p", n_images=2))
    panel.form.set_settings(replace(TINY, limit="epochs", epochs=1))
    with qtbot.waitSignal(panel.training_finished, timeout=60000) as done:
        assert panel.start()
    assert done.args[0] is not None and not done.args[0].interrupted
    assert readers == {threading.main_thread().name}


def test_the_panel_says_what_the_budget_buys_after_measuring_it(qtbot, tmp_path):
    _, panel = make_panel(qtbot, labelled_project(tmp_path / "p", n_images=2))
    panel.form.set_settings(replace(TINY, limit="epochs", epochs=2))
    assert "not measured yet" in panel.budget_label.text()
    with qtbot.waitSignal(panel.training_finished, timeout=60000):
        assert panel.start()
    assert "steps take about" in panel.budget_label.text() and "on this machine" in panel.budget_label.text()
    panel.form.set_settings(replace(TINY, limit="seconds", seconds=60))
    panel.findChild(QSpinBox, "trainSecondsSpin").setValue(30)  # as the user types it
    assert "30 s buys about" in panel.budget_label.text() and "steps" in panel.budget_label.text()


def test_budget_summary_numbers():
    config = TrainConfig(max_seconds=30, steps_per_epoch=20)
    assert budget_summary(config, 2.0).startswith("30 s buys about 60 steps (3.0 epochs of 20) on this machine")
    assert "not measured" in budget_summary(config, None)
    assert budget_summary(TrainConfig(epochs=5, steps_per_epoch=20), 1.0).startswith(
        "100 steps take about 1 min 40 s on this machine")


def test_workers_use_both_cores_of_two_and_leave_one_of_more():
    assert [worker_threads(n) for n in (1, 2, 4, 16)] == [1, 2, 3, 15]


class _Failing(JobWorker):
    what = "thing"

    def work(self) -> None:
        raise ValueError("bad\nvalue")


def test_the_worker_base_reports_one_line_and_finishes_last(qtbot):
    worker, order = _Failing(), []
    worker.failed.connect(lambda line: order.append(line))
    worker.finished.connect(lambda: order.append("finished"))
    with qtbot.waitSignal(worker.finished, timeout=10000):
        thread = start_worker(worker)
    assert wait_for(thread)
    qtbot.waitUntil(lambda: len(order) == 2)
    assert order == ["thing failed: ValueError: bad value", "finished"]


class _Quick(JobWorker):
    def work(self) -> None:
        self.ran_in = threading.get_ident()


def test_a_finished_worker_is_handed_back_and_destroyed_on_the_gui_thread(qtbot):
    # Destroyed in its own thread, a worker's ~QObject waited for the GIL while holding Qt's connection lock,
    # and the GUI thread waited for that lock with the GIL held (a CI deadlock in the export dialog).
    worker, destroyed_in = _Quick(), []
    worker.destroyed.connect(lambda *_: destroyed_in.append(threading.get_ident()),
                             type=Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(worker.finished, timeout=10000):
        thread = start_worker(worker)
    assert wait_for(thread)
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5000)
    assert worker.ran_in != threading.get_ident()  # the work ran off the GUI thread ...
    assert destroyed_in == [threading.get_ident()]  # ... and the worker died on it
