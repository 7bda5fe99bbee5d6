"""The headless demo's figures on this CPU and on a simulated CPU three times slower, side by side.

Runs what `unet-studio demo --headless` runs (cli/demo.py: the bundled nuclei sample, `demo_config()`, the
two test images scored against their truth) once per setting. The slower CPU is simulated with one torch
thread and a smaller time cap (`--slow-cap`, default 2/3 of the demo's cap: one thread of two is about half
the speed, so 1 thread + 2/3 of the cap stands for a machine three times slower with the full cap). The
demo counts its length in steps, so both settings should print the same figures unless a cap cuts a run
short. Prints one JSON object with the README's figures beside them.

Usage: python benchmarks/demo_slow_cpu.py [--settings default,slow] [--slow-cap 200] [--steps 250]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import torch

from unet_studio.demo import (DEMO_CAP_SECONDS, DEMO_STEPS, demo_train_config, iter_train_demo, predict_and_score,
                              prepare_demo_project)
from unet_studio.training.events import TrainingFinished

README_FIGURES = {"mean_dice": 0.84, "mean_ap@0.5": 0.68}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                "unknown")


def run_setting(threads: int, cap: float | None, steps: int) -> dict:
    """One headless demo run with `threads` torch threads and a `cap` seconds limit (None: no cap)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = prepare_demo_project(Path(tmp, "demo"))
            config = demo_train_config(cap if cap is not None else 1e9, steps)
            start = time.perf_counter()
            finished = [e for e in iter_train_demo(project, config, threading.Event())
                        if isinstance(e, TrainingFinished)][-1]
            train_s = time.perf_counter() - start
            steps_done = finished.history.get("steps") or [0]
            summary = {"steps": steps_done[-1], "training": finished.reason,
                       **predict_and_score(project, finished.checkpoint_path)}
    finally:
        torch.set_num_threads(before)
    return {"threads": threads, "cap_s": cap, "train_s": round(train_s, 1), "steps": summary["steps"],
            "training": summary["training"], "mean_dice": round(summary["mean_dice"], 4),
            "mean_ap@0.5": round(summary["mean_ap@0.5"], 4),
            "per_image": {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in r.items()}
                          for k, r in summary["test_images"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="default,slow", help="comma list of: default, slow")
    parser.add_argument("--steps", type=int, default=DEMO_STEPS)
    parser.add_argument("--cap", type=float, default=DEMO_CAP_SECONDS, help="time cap of the default setting")
    parser.add_argument("--slow-cap", type=float, default=DEMO_CAP_SECONDS * 2 / 3)
    parser.add_argument("--no-cap", action="store_true", help="no time cap at all (figures set by steps alone)")
    args = parser.parse_args()
    settings = {"default": (torch.get_num_threads(), args.cap), "slow": (1, args.slow_cap)}
    result = {"benchmark": "headless demo on a 3x slower CPU", "cpu": cpu_model(),
              "threads_available": torch.get_num_threads(), "readme": README_FIGURES, "runs": {}}
    for name in args.settings.split(","):
        threads, cap = settings[name]
        run = run_setting(threads, None if args.no_cap else cap, args.steps)
        run["off_readme"] = {k: round(run[k] - v, 4) for k, v in README_FIGURES.items()}
        result["runs"][name] = run
        print(json.dumps({"partial": name, **run}), flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
