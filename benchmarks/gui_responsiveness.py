"""Event-loop lag of the main window while a real training runs (offscreen), printed as JSON.

A 10 ms QTimer stamps every tick while the Training dock trains a preset (default: the app's default) on real DSB 2018 nuclei
images; lag = gap between ticks minus 10 ms. Also reports the training speed (patches/s), the live previews
that arrived during the run (count, seconds to the first), and, in the same run, the same training on the
same project headless as the CLI runs it (all cores, no window), so the GUI/CLI speed ratio is side by side.
Usage: python benchmarks/gui_responsiveness.py [--seconds 30] [--images 6] [--preset balanced] [--no-cli]
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

from unet_studio.core.project import Project  # noqa: E402
from unet_studio.gui.training_settings import TrainingSettings  # noqa: E402
from unet_studio.training.api import iter_train_project  # noqa: E402
from unet_studio.training.events import TrainingFinished  # noqa: E402

TICK_MS = 10


def cli_speed(folder: Path, settings: TrainingSettings) -> dict:
    """The same run headless, as `unet-studio train` does it: the main thread, torch on every core."""
    torch.set_num_threads(os.cpu_count() or 1)
    project = Project.open(folder)
    events = iter_train_project(project, folder / "models" / "cli.pt", settings.model_config(),
                                settings.train_config(), register=False)
    finished = [e for e in events if isinstance(e, TrainingFinished)][-1]
    rates = [r for r in finished.history.get("patches_per_s", []) if r]
    return {"cli_patches_per_s": round(float(np.mean(rates)), 2) if rates else None,
            "cli_steps": (finished.history.get("steps") or [0])[-1]}


def measure(seconds: int, n_images: int, preset: str, with_cli: bool = True) -> dict:
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
        finished, previews = [], []
        panel.training_finished.connect(finished.append)
        panel.preview_ready.connect(lambda *_: previews.append(time.perf_counter()))
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
        settings = panel.form.settings()
        cli = cli_speed(folder / "project", settings) if with_cli else {}
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
        **cli,
        "gui_over_cli": round(float(np.mean(rates)) / cli["cli_patches_per_s"], 2)
        if rates and cli.get("cli_patches_per_s") else None,
        "previews": len(previews),
        "first_preview_s": round(previews[0] - started, 1) if previews else None,
        "val_dice": (history.get("val_dice") or [None])[-1],
        "finished": event.reason if event is not None else "no result",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="training time budget")
    parser.add_argument("--images", type=int, default=6, help="DSB images in the project")
    parser.add_argument("--preset", default=TrainingSettings().preset, help="model size preset")
    parser.add_argument("--no-cli", action="store_true", help="skip the headless comparison run")
    args = parser.parse_args()
    result = measure(args.seconds, args.images, args.preset, not args.no_cli)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    print(json.dumps({"preset": args.preset, "cpu": cpu, **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
