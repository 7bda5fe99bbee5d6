"""Save a PNG of the annotation studio for the README (run under Xvfb, or offscreen).

Opens the window on a project (or the bundled demo, copied to a temporary folder), shows one image,
optionally paints a few demonstration strokes, and saves `widget.grab()`. The project is not changed
unless --paint is given (strokes are then autosaved like any edit).
Usage: python benchmarks/screenshot.py [PROJECT | demo] [--image ID] [--paint] [--out docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from unet_studio.gui.main_window import MainWindow  # noqa: E402


def paint_demo_strokes(window: MainWindow) -> None:
    """A few brush strokes and a polygon through the tool controller (the path mouse input takes)."""
    labels = window.document.labels
    h, w = labels.shape
    tools = window.tools
    tools.set_brush_size(max(3, min(h, w) // 40))
    values = sorted(window.document.class_colours())
    first_object = values[1] if len(values) > 1 else values[0]
    for value, row in ((first_object, 0.15), (values[0], 0.9)):
        tools.set_class_value(value)
        tools.press(QPointF(w * 0.1, h * row))
        for step in range(1, 11):
            tools.move(QPointF(w * (0.1 + 0.08 * step), h * row), True)
        tools.release(QPointF(w * 0.9, h * row))
    tools.set_tool("polygon")
    tools.set_class_value(first_object)
    for x, y in ((0.05, 0.3), (0.25, 0.3), (0.3, 0.5), (0.1, 0.55)):
        tools.press(QPointF(w * x, h * y))
        tools.release(QPointF(w * x, h * y))
    tools.close_polygon()
    tools.set_tool("brush")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default="demo", help="project folder, folder of images, or demo")
    parser.add_argument("--image", help="image id to show (default: the first)")
    parser.add_argument("--paint", action="store_true", help="paint demonstration strokes before the grab")
    parser.add_argument("--size", type=int, nargs=2, default=(1400, 860), metavar=("W", "H"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, demo_folder=Path(tmp) / "demo")
        window.resize(*args.size)
        window.show()
        opened = window.open_demo() if args.project == "demo" else window.open_path(args.project)
        if not opened:
            print(window.last_error, file=sys.stderr)
            return 1
        if args.image and not window.document.set_image(args.image):
            print(window.last_error, file=sys.stderr)
            return 1
        if args.paint:
            paint_demo_strokes(window)
        for _ in range(3):  # the view asks for thumbnails when it paints; wait for them, then paint again
            app.processEvents()
            window.browser.loader.wait(10000)
            app.processEvents()
        window.canvas.fit()
        app.processEvents()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(args.out)):
            print(f"{args.out}: cannot write PNG", file=sys.stderr)
            return 1
        window.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
