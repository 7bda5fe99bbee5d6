"""Qt objects die only on the GUI thread: automatic collection is off and a GUI-thread timer collects."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unet_studio.gui import create_main_window
from unet_studio.gui.gui_gc import GuiThreadCollector, install_gui_collector

pytestmark = pytest.mark.gui

STRESS = Path(__file__).with_name("gc_stress.py")
ROOT = Path(__file__).resolve().parents[2]


def test_cyclic_qt_garbage_beside_a_busy_worker_thread_is_freed_on_the_gui_thread():
    """Without the collector this script crashes (signal 11) or deadlocks within a second (see gc_stress.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run([sys.executable, str(STRESS), "--rounds", "50"], env=env, capture_output=True,
                              text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("gc stress script hung (deadlock) for 90 s")
    assert done.returncode == 0, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "rounds 50, Qt objects destroyed off the GUI thread: 0" in done.stdout


def test_collector_disables_automatic_collection_and_collects_what_is_due(qapp):
    collector = install_gui_collector(qapp)
    assert collector.active and not gc.isenabled()
    assert install_gui_collector(qapp) is collector  # one per application
    gc.collect()
    for _ in range(collector.thresholds[0] + 50):
        cycle: list = []
        cycle.append(cycle)
        del cycle
    assert gc.get_count()[0] > collector.thresholds[0]
    assert collector.collect_due() >= collector.thresholds[0]
    assert collector.collect_due() == 0  # nothing due right after a collection


def test_stopping_collects_and_gives_collection_back(qapp):
    collector = install_gui_collector(qapp)  # started before this test by tests/gui/conftest.py
    cycle: list = []
    cycle.append(cycle)
    del cycle
    try:
        collector.stop()
        assert not collector.active and gc.isenabled()
        assert gc.collect() == 0  # stop() already freed the cycle, on this thread
    finally:
        collector.start()


def test_the_app_window_starts_the_collector(qapp, tmp_path):
    window = create_main_window()
    try:
        collector = qapp.findChild(GuiThreadCollector, "guiThreadCollector")
        assert collector is not None and collector.active and not gc.isenabled()
    finally:
        window.close()
        window.deleteLater()
