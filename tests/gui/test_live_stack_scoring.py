"""Live training scores an unlabelled stack plane by plane: each turn reads the next plane (PlaneTurns, tested
in test_live_preview.py, gives the browser the stack's most uncertain plane so far)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_blobs
from tests.gui.test_live_training import start_live
from tests.gui.test_planes import PLANES, stack_project
from unet_studio.gui import live_worker

pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path):
    """The conftest `window` opens this: two stacks, plane 0 of stack_0 labelled, stack_1 not at all."""
    project = stack_project(tmp_path / "project", n_stacks=2)
    project.save_annotation("stack_0", make_blobs((64, 64), seed=0)[1].astype(np.uint8) + 1, plane=0)
    return project


def test_an_unlabelled_stack_is_scored_a_plane_a_turn(window, docks, qtbot, monkeypatch):
    planes_read, real_read = [], live_worker.read_image

    def recording_read(path, plane=0):
        planes_read.append((Path(path).stem, plane))
        return real_read(path, plane)

    monkeypatch.setattr(live_worker, "read_image", recording_read)
    start_live(window, qtbot)
    qtbot.waitUntil(lambda: len([p for stem, p in planes_read if stem == "stack_1"]) > PLANES, timeout=60000)
    turns = [p for stem, p in planes_read if stem == "stack_1"]
    assert turns[:PLANES + 1] == [*range(PLANES), 0]  # one plane a turn, then round again
    assert {stem for stem, _ in planes_read} == {"stack_1"}  # stack_0 is partly labelled: not scored
    model = window.browser.model
    qtbot.waitUntil(lambda: model.uncertainty(model.record_at(model.row_of("stack_1"))) is not None, timeout=20000)
    assert 0.0 <= model.uncertainty(model.record_at(model.row_of("stack_1"))) <= 1.0
