"""Save docs/screenshots/training.png: the window training on real DSB 2018 nuclei (run under Xvfb).

Makes a project from a few nuclei images with annotations imported from their masks, opens the main
window, starts training the "fast" U-Net, waits for a few epochs so the curves and the live prediction
overlay show, grabs the window, then stops the run. The PNG is kept under 400 KB.
Usage: xvfb-run -a python benchmarks/training_screenshot.py [--out docs/screenshots/training.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gui_training_common import make_nuclei_project, open_window, wait_until  # noqa: E402

from unet_studio.gui.training_settings import TrainingSettings  # noqa: E402

MAX_BYTES = 400 * 1024
OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "training.png"


def save_small(pixmap, out: Path) -> int:
    """Save as PNG, scaling down until the file is under MAX_BYTES; returns its size."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scale = 1.0
    while True:
        image = pixmap if scale == 1.0 else pixmap.scaledToWidth(int(pixmap.width() * scale),
                                                                  Qt.TransformationMode.SmoothTransformation)
        image.save(str(out), "PNG", 0)
        size = out.stat().st_size
        if size <= MAX_BYTES or scale < 0.4:
            return size
        scale *= 0.85


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--epochs", type=int, default=4, help="epochs to wait for before the grab")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_nuclei_project(folder / "nuclei", n=6)
        window, docks = open_window(folder / "nuclei", folder / "settings.ini", size=(1600, 1000))
        for title in ("toolsDock", "classesDock", "displayDock"):  # room for the curves
            window.findChild(QDockWidget, title).hide()
        window.resizeDocks([docks.docks["training"]], [560], Qt.Orientation.Horizontal)
        window.canvas.overlay.setOpacity(0.3)
        docks.overlay.set_single_colour(True)
        panel = docks.training
        panel.form.set_settings(TrainingSettings(preset="fast", seconds=240, device="cpu",
                                                 train_overrides={"steps_per_epoch": 12, "patch_size": 128}))
        if not panel.start():
            raise SystemExit(panel.message_label.text())
        ready = wait_until(lambda: len(panel.curves.epoch_steps) >= args.epochs and docks.state.mask is not None,
                           timeout_s=400)
        window.canvas.fit()
        wait_until(lambda: False, timeout_s=0.5)  # let the last redraw land
        size = save_small(window.grab(), args.out)
        panel.stop()
        docks.shutdown()
        window.close()
    print(f"{args.out}: {size} bytes, epochs shown {len(panel.curves.epoch_steps)}, preview {'yes' if ready else 'no'}, "
          f"platform {app.platformName()}")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
