"""`unet-studio demo`: the bundled nuclei sample as a project; the app where there is a screen, else a
headless train -> predict -> evaluate run that shows the whole job end to end (the work is in unet_studio.demo)."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

from unet_studio.cli.output import info
from unet_studio.cli.train import follow_training
from unet_studio.cli.window import has_display, run_gui
from unet_studio.core.project import Project
from unet_studio.demo import (DEFAULT_DEMO_FOLDER, DEMO_CAP_SECONDS, DEMO_STEPS, demo_train_config, iter_train_demo,
                              predict_and_score, prepare_demo_project)


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="open the bundled sample (headless train + predict without a screen)")
    p.add_argument("--out", default=str(DEFAULT_DEMO_FOLDER),
                   help="where the demo project is made (default ~/unet-studio-demo); the sample is copied")
    p.add_argument("--headless", action="store_true", help="train and predict without a window")
    p.add_argument("--steps", type=int, default=DEMO_STEPS, help=f"training steps of the headless run "
                   f"(default {DEMO_STEPS}; it stops sooner once the validation Dice stops improving)")
    p.add_argument("--seconds", type=float, default=DEMO_CAP_SECONDS,
                   help=f"time cap of the headless run (default {DEMO_CAP_SECONDS:.0f} s)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.out).expanduser()
    project = prepare_demo_project(folder)
    if not args.headless and has_display():
        return run_gui(argparse.Namespace(path=str(folder)))
    if not args.headless:
        info("no display found: running the headless demo (train, predict, evaluate)")
    return run_headless(project, args.seconds, args.steps)


def run_headless(project: Project, seconds: float = DEMO_CAP_SECONDS, steps: int = DEMO_STEPS) -> int:
    """Train on the labelled images, predict the test images, score them against the truth; print JSON."""
    config = demo_train_config(seconds, steps)
    info(f"training for up to {steps} steps (at most {seconds:.0f} s) on {project.folder} ...")
    stop = threading.Event()  # set by Ctrl+C or SIGTERM: the run saves and ends
    finished = follow_training(iter_train_demo(project, config, stop), config, stop)
    if finished is None or finished.checkpoint_path is None:
        return 1
    steps_done = finished.history.get("steps") or [0]
    summary = {"project": str(project.folder), "model": str(finished.checkpoint_path), "training": finished.reason,
               "steps": steps_done[-1], **predict_and_score(project, finished.checkpoint_path)}
    print(json.dumps(summary, indent=2))
    info(f"predictions saved in {project.folder / 'predictions'}; open the project with: unet-studio {project.folder}")
    return 0
