"""Live training vs an ordinary run on 5 scribbled ISBI 2012 slices, one run each, side by side.

The same scribbles as sparse_isbi.py (`inside` style, ~2 % of pixels, slices 00-04) and the same score
(membrane Dice on slices 10-19 from the checkpoint's own rule: its threshold, else argmax):

* `ordinary`: `iter_train_folders` with a 60 s budget (warm-up, cosine decay, plateau rule);
* `live`: `iter_train_live` on a project holding the same scribbles, stopped after 60 s of training;
* `live_progressive`: the same live run, but the scribbles arrive while it trains, as a user paints them:
  a thread saves each slice's strokes in three parts, one save every 2 s over the first 30 s (slice 00's
  first part is there at the start: a run needs one labelled image).

Runs one after the other with the same torch thread count (--threads, default 1), so each has the
machine's cores the same way. Prints JSON (target: live Dice >= ordinary Dice). `--steps N` matches the
runs by steps instead of seconds (ordinary: max_steps N; live: stopped after step N): a comparison that
other work on the machine cannot tilt, for checking a change while the machine is busy. `--seed` seeds both.

`--runs live,live_progressive` leaves the ordinary run out (e.g. to compare two versions of live training).

Usage: python benchmarks/live_training.py [--seconds 60 | --steps N] [--seed 0] [--threads 1] [--preset balanced]
       [--runs ordinary,live,live_progressive]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dice, load_pairs  # noqa: E402
from scribbles import make_scribbles  # noqa: E402
from sparse_isbi import TEST_IDS, TRAIN_IDS, ours  # noqa: E402
from speed_machine import machine  # noqa: E402

from unet_studio.core.project import Project  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.models.config import ModelConfig  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import EpochEnded, LabelsReloaded, StepEnded, TrainingFinished  # noqa: E402
from unet_studio.training.live import LiveControl, iter_train_live  # noqa: E402
from unet_studio.training.project_source import snapshot_project  # noqa: E402

RUNS = ("ordinary", "live", "live_progressive")
PARTS_PER_SLICE = 3
SAVE_EVERY_S = 2.0  # 5 slices x 3 parts: the last save at 28 s


def stroke_parts(annotation: np.ndarray, parts: int, seed: int) -> list[np.ndarray]:
    """The annotation growing stroke by stroke: `parts` cumulative annotations, the last one complete.
    Strokes (connected labelled pieces of each class) are dealt out in a random order; the first part
    holds at least one stroke of each class."""
    rng = np.random.default_rng(seed)
    pieces = []
    for value in (1, 2):
        labelled, count = ndi.label(annotation == value)
        pieces += [(value, labelled, k) for k in range(1, count + 1)]
    order = [int(i) for i in rng.permutation(len(pieces))]
    firsts = [next(i for i in order if pieces[i][0] == v) for v in (1, 2)]
    order = firsts + [i for i in order if i not in firsts]
    grown, out = np.zeros_like(annotation), []
    for part in range(parts):
        for index in order[part * len(order) // parts:(part + 1) * len(order) // parts]:
            value, labelled, k = pieces[index]
            grown[labelled == k] = value
        out.append(grown.copy())
    return out


def make_project(folder: Path, train) -> Project:
    images = folder / "images"
    images.mkdir(parents=True)
    for name, image, _ in train:
        cv2.imwrite(str(images / f"{name}.png"), image)
    return Project.create(folder / "project", sorted(images.iterdir()))


def painter(project: Project, schedule: list[tuple[float, str, np.ndarray]], started: threading.Event) -> None:
    """Save each (time, image id, annotation) once `time` seconds have passed since `started` was set."""
    started.wait()
    origin = time.perf_counter()
    for at, image_id, annotation in schedule:
        time.sleep(max(0.0, at - (time.perf_counter() - origin)))
        project.save_annotation(image_id, annotation)


def live(train, test, annotations, seconds: float, preset: str, threads: int, progressive: bool,
         steps: int | None = None, seed: int = 0) -> dict:
    """A live run on a project of the scribbled slices for `seconds` of training; scored as `ours`."""
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp), train)
        ids = [record.id for record in project.images]
        schedule = []
        if progressive:
            parts = [stroke_parts(a, PARTS_PER_SLICE, seed=i) for i, a in enumerate(annotations)]
            schedule = [(SAVE_EVERY_S * (i * PARTS_PER_SLICE + k), ids[i], parts[i][k])
                        for i in range(len(ids)) for k in range(PARTS_PER_SLICE)]
            project.save_annotation(schedule[0][1], schedule[0][2])
            schedule = schedule[1:]
        else:
            for image_id, annotation in zip(ids, annotations):
                project.save_annotation(image_id, annotation)
        snapshot = snapshot_project(project)  # taken before the painter owns `project`
        started, stop = threading.Event(), threading.Event()
        thread = threading.Thread(target=painter, args=(project, schedule, started), daemon=True)
        thread.start()
        config = TrainConfig(device="cpu", num_threads=threads, seed=seed)
        events = iter_train_live(snapshot, Path(tmp, "live.pt"), ModelConfig.from_preset(preset), config,
                                 stop=stop, control=LiveControl())
        reloads, epochs, finished, step = [], 0, None, None
        for event in events:
            if isinstance(event, StepEnded):
                started.set()
                step = event
                if (event.step >= steps) if steps else (event.elapsed_s >= seconds):
                    stop.set()
            elif isinstance(event, LabelsReloaded):
                reloads.append({"version": event.version, "step": event.step, "train_images": event.train_images,
                                "at_s": round(step.elapsed_s, 1) if step else 0.0})
            elif isinstance(event, EpochEnded):
                epochs += 1
            elif isinstance(event, TrainingFinished):
                finished = event
        thread.join()
        predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
        cut = 0.5 if predictor.threshold is None else predictor.threshold
        scores = {name: dice(predictor.predict(image[:, :, None]).probabilities[1] >= cut, mask)
                  for name, image, mask in test}
    return {"membrane_dice": float(np.mean(list(scores.values()))), "threshold": predictor.threshold,
            "epochs": epochs, "steps": step.step, "seconds": round(step.elapsed_s, 1),
            "patches_per_s": round(step.patches_per_s, 2), "reason": finished.reason,
            "reloads": len(reloads), "last_reload": reloads[-1] if reloads else None,
            "per_slice": {k: round(v, 4) for k, v in scores.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for each run (they run in turn)")
    parser.add_argument("--fraction", type=float, default=0.02)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--steps", type=int, default=None, help="match the runs by steps, not seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=",".join(RUNS), help="which of the runs, comma-separated (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = load_pairs("isbi2012_em_membranes", TRAIN_IDS)
    test = load_pairs("isbi2012_em_membranes", TEST_IDS)
    annotations = [make_scribbles(mask, args.fraction, seed=i) for i, (_, _, mask) in enumerate(train)]
    result = {"benchmark": "live vs ordinary training, sparse scribbles, ISBI 2012", "train_slices": TRAIN_IDS,
              "test_slices": TEST_IDS, "seconds": args.seconds, "threads": args.threads, "preset": args.preset,
              "machine": machine("native")}
    result["steps"], result["seed"] = args.steps, args.seed
    extra = {"num_threads": args.threads, "seed": args.seed, **({"max_steps": args.steps} if args.steps else {})}
    runs = args.runs.split(",")
    if "ordinary" in runs:
        result["ordinary"] = ours(train, test, annotations, args.seconds, args.preset, extra, {})
    for key, progressive in (("live", False), ("live_progressive", True)):
        if key in runs:
            result[key] = live(train, test, annotations, args.seconds, args.preset, args.threads, progressive,
                               args.steps, args.seed)
    for key in ("live", "live_progressive"):
        if key in result and "ordinary" in result:
            result[f"{key}_minus_ordinary"] = round(result[key]["membrane_dice"] - result["ordinary"]["membrane_dice"], 4)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
