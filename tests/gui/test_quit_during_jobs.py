"""Quitting while a job runs (issue 19 item 1): the window asks, stops and joins the job before it goes,
Qt never complains of a thread destroyed while running, and a stopped run never replaces the active model."""

import time

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.gui.training_helpers import TINY, labelled_project, tiny_checkpoint, with_model  # noqa: F401
from unet_studio.gui import export_worker
from unet_studio.gui.main_window import MainWindow
from unet_studio.gui.training_docks import open_export_dialog
from unet_studio.inference.predictor import Predictor

pytestmark = pytest.mark.gui


@pytest.fixture
def asked(monkeypatch):
    """Answers every QMessageBox.question with `asked.answer` and records the questions."""
    class Asked(list):
        answer = QMessageBox.StandardButton.Yes

    questions = Asked()

    def question(_parent, _title, text, *_args, **_kwargs):
        questions.append(text)
        return questions.answer

    monkeypatch.setattr(QMessageBox, "question", question)
    return questions


@pytest.fixture
def slow_predictions(monkeypatch):
    """Predictions that last until their job is stopped: quitting always finds them running."""
    original = Predictor.predict

    def predict_until_stopped(self, pixels, *args, stop=None, **kwargs):
        while stop is not None and not stop.is_set():
            time.sleep(0.01)
        return original(self, pixels, *args, stop=stop, **kwargs)

    monkeypatch.setattr(Predictor, "predict", predict_until_stopped)


@pytest.fixture
def trained_window(qtbot, tmp_path, settings, tiny_checkpoint):  # noqa: F811
    project = with_model(labelled_project(tmp_path / "project"), tiny_checkpoint)
    window = MainWindow(settings=settings, demo_folder=tmp_path / "demo")
    qtbot.addWidget(window)
    window.show()
    assert window.open_path(project.folder), window.last_error
    qtbot.waitUntil(lambda: window.document.image_id is not None)
    window.training_docks.training.form.set_settings(TINY)
    return window, window.document.project  # the window's own Project object


def close_and_check(qtbot, qtlog, window, thread, asked, question: str) -> None:
    window.close()
    assert asked == [question]
    assert not window.isVisible()
    assert not thread.isRunning()  # joined before the window went
    qtbot.wait(50)
    assert not [r for r in qtlog.records if "Destroyed while thread" in r.message]


def test_quit_during_training_asks_stops_joins_and_keeps_the_active_model(qtbot, qtlog, trained_window, asked):
    window, project = trained_window
    panel, active = window.training_docks.training, project.active_model
    assert panel.start()
    qtbot.waitUntil(lambda: panel.progress.step >= 1, timeout=60000)
    thread = panel.thread
    close_and_check(qtbot, qtlog, window, thread, asked, "Training is running: stop and quit?")
    assert project.active_model == active  # the interrupted run did not replace the good model
    assert len(project.models) == 2 and project.models[1].id != active  # but it is kept, listed
    assert panel.last_finished is not None and panel.last_finished.interrupted


def test_answering_no_keeps_the_window_and_the_run(qtbot, trained_window, asked):
    window, _ = trained_window
    panel = window.training_docks.training
    asked.answer = QMessageBox.StandardButton.No
    assert panel.start()
    window.close()
    assert asked == ["Training is running: stop and quit?"]
    assert window.isVisible() and panel.running
    with qtbot.waitSignal(panel.training_finished, timeout=30000):
        panel.stop()
    qc = window.training_docks.qc  # the quality check that follows the run: let it end with this test
    qtbot.waitUntil(lambda: qc.worker is None, timeout=60000)


def test_quit_during_prediction_stops_and_joins_it(qtbot, qtlog, trained_window, asked, slow_predictions):
    window, _ = trained_window
    prediction = window.training_docks.prediction
    assert prediction.predict()
    close_and_check(qtbot, qtlog, window, prediction.thread, asked, "Prediction is running: stop and quit?")


def test_quit_during_the_quality_check_stops_and_joins_it(qtbot, qtlog, trained_window, asked, slow_predictions):
    window, project = trained_window
    qc = window.training_docks.qc
    assert qc.compare(project.active_model)
    close_and_check(qtbot, qtlog, window, qc.thread, asked, "Quality check is running: stop and quit?")


def test_quit_during_export_and_prediction_names_both(qtbot, qtlog, trained_window, asked, slow_predictions,
                                                     monkeypatch, tmp_path):
    window, _ = trained_window
    original = export_worker.export_sources

    def export_once_stopped(*args, **kwargs):
        while not dialog.worker.stopping:
            time.sleep(0.01)
        return original(*args, **kwargs)

    monkeypatch.setattr(export_worker, "export_sources", export_once_stopped)
    dialog = open_export_dialog(window)
    dialog.source.setCurrentIndex(dialog.source.findData("annotations"))
    dialog.set_formats(["masks"])
    dialog.folder.setText(str(tmp_path / "out"))
    assert dialog.start()
    assert window.training_docks.prediction.predict()
    export_thread = dialog.thread
    close_and_check(qtbot, qtlog, window, export_thread, asked,
                    "Prediction and export are running: stop them and quit?")
    assert not window.training_docks.prediction.thread or not window.training_docks.prediction.thread.isRunning()
