"""Shared set-up for the GUI training benchmark and screenshot: a project made from a few real DSB 2018
nuclei images with their masks imported as annotations, opened in the main window with the training docks.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QSettings, QTimer

from unet_studio.core.annotations import read_annotation
from unet_studio.core.project import Project

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dsb2018_fluo_nuclei"


def nuclei_images(n: int, size: int | None = 256) -> list[Path]:
    """The first `n` DSB images (of `size` x `size` pixels when given), in name order."""
    if not (DATA / "images").is_dir():
        raise SystemExit(f"real data not found at {DATA} (../shared/data is absent)")
    chosen = []
    for path in sorted((DATA / "images").glob("*.png")):
        if size is None or read_annotation(path).shape == (size, size):
            chosen.append(path)
        if len(chosen) == n:
            break
    return chosen


def make_nuclei_project(folder: Path, n: int = 6, size: int | None = 256) -> Project:
    """A two-class project (background, nucleus) over `n` DSB images, annotations = mask + 1, the last
    image held out for validation. The originals are only referenced, never written."""
    images = nuclei_images(n, size)
    project = Project.create(folder, images)
    for info in reversed(project.classes):  # keep background and one object class
        if info.value > 2:
            project.remove_class(info.value)
    project.rename_class(2, "nucleus")
    for record, image in zip(project.images, images):
        mask = read_annotation(DATA / "masks" / image.name)
        project.save_annotation(record.id, (mask > 0).astype(np.uint8) + 1)
    project.set_split(project.images[-1].id, "val")
    return project


def open_window(project_folder: Path, settings_file: Path, size: tuple[int, int] = (1600, 1000)):
    """The main window on the project, shown; returns it and its training docks."""
    from unet_studio.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat),
                        demo_folder=settings_file.parent / "demo")
    docks = window.training_docks
    window.resize(*size)
    window.show()
    if not window.open_path(project_folder):
        raise SystemExit(window.last_error)
    return window, docks


def wait_until(condition, timeout_s: float, poll_ms: int = 20) -> bool:
    """Run the event loop until `condition()` is true or the time is up."""
    deadline = time.perf_counter() + timeout_s
    loop = QEventLoop()
    while not condition():
        if time.perf_counter() > deadline:
            return False
        QTimer.singleShot(poll_ms, loop.quit)
        loop.exec()
    return True
