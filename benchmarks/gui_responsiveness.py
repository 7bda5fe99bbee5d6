"""Event-loop lag of the main window while a real training runs (offscreen), printed as JSON.

A 10 ms QTimer stamps every tick while the Training dock trains a preset (default: the app's default) on real DSB 2018 nuclei
images; lag = gap between ticks minus 10 ms. Also reports the training speed (patches/s).
Usage: python benchmarks/gui_responsiveness.py [--seconds 30] [--images 6] [--preset balanced]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gui_training_common import make_nuclei_project, open_window, wait_until  # noqa: E402

from unet_studio.gui.training_settings import TrainingSettings  # noqa: E402

TICK_MS = 10


def measure(seconds: int, n_images: int, preset: str) -> dict:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_nuclei_project(folder / "project", n_images)
        window, docks = open_window(folder / "project", folder / "settings.ini")
        panel = docks.training
        panel.form.set_settings(TrainingSettings(preset=preset, seconds=seconds, device="cpu",
                                                 train_overrides={"steps_per_epoch": 20}))
        stamps: list[float] = []
        ticker = QTimer()
        ticker.setInterval(TICK_MS)
        ticker.timeout.connect(lambda: stamps.append(time.perf_counter()))
        finished = []
        panel.training_finished.connect(finished.append)
        ticker.start()
        started = time.perf_counter()
        if not panel.start():
            raise SystemExit(panel.message_label.text())
        wait_until(lambda: bool(finished), seconds + 120)
        wall = time.perf_counter() - started
        ticker.stop()
        event = finished[0] if finished else None
        history = event.history if event is not None else {}
        docks.shutdown()
        window.close()
        app.processEvents()
    lag = np.maximum(np.diff(np.asarray(stamps)) * 1000.0 - TICK_MS, 0.0)
    rates = [r for r in history.get("patches_per_s", []) if r]
    return {
        "benchmark": "gui_responsiveness",
        "platform": QApplication.platformName(),
        "cpu_count": os.cpu_count(),
        "torch_threads_gui": torch.get_num_threads(),
        "images": n_images,
        "budget_s": seconds,
        "wall_s": round(wall, 2),
        "ticks": int(len(stamps)),
        "lag_ms_p50": round(float(np.percentile(lag, 50)), 2),
        "lag_ms_p99": round(float(np.percentile(lag, 99)), 2),
        "lag_ms_max": round(float(lag.max()), 2),
        "epochs": len(history.get("epochs", [])),
        "steps": (history.get("steps") or [0])[-1],
        "patches_per_s": round(float(np.mean(rates)), 2) if rates else None,
        "val_dice": (history.get("val_dice") or [None])[-1],
        "finished": event.reason if event is not None else "no result",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="training time budget")
    parser.add_argument("--images", type=int, default=6, help="DSB images in the project")
    parser.add_argument("--preset", default=TrainingSettings().preset, help="model size preset")
    args = parser.parse_args()
    print(json.dumps({"preset": args.preset, **measure(args.seconds, args.images, args.preset)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
