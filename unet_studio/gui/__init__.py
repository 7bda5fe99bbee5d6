"""The only package that imports Qt (PySide6). Nothing outside it imports it.

`create_main_window(path)` builds the window without entering the event loop (scripts and tests);
`run_app(path, argv)` is what `unet-studio [PATH | demo]` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from unet_studio.gui import qt_compat  # noqa: F401  (first: guards against PySide6 6.12.0 refcount bugs)

DEMO = "demo"


def create_main_window(path: str | Path | None = None):
    """The main window (a QApplication is made if none exists), with `path` opened: a project folder,
    a folder of images (made into a project), or "demo" (the bundled sample). Errors show in the window."""
    from PySide6.QtWidgets import QApplication

    from unet_studio.gui.gui_gc import install_gui_collector
    from unet_studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("UNet Studio")
    app.setOrganizationName("UNetStudio")
    install_gui_collector(app)  # Python's cyclic collector runs on the GUI thread only (gui_gc.py)
    window = MainWindow()
    if path is not None and str(path) == DEMO:
        window.open_demo()
    elif path is not None:
        window.open_path(path)
    return window


def run_app(path: str | Path | None = None, argv: list[str] | None = None) -> int:
    """Show the main window and run the event loop; returns the exit code. Labels are saved on quit."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv) if argv is not None else sys.argv[:1])
    window = create_main_window(path)
    app.aboutToQuit.connect(window.document.close_image)
    window.show()
    return app.exec()
