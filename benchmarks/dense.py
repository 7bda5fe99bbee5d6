"""Dense labels on real data: ISBI 2012 membranes (pixel error) and DSB 2018 nuclei (instances: AP@0.5, mAP).

Trains through the same API as `unet-studio train` for a wall-clock budget on the CPU, then predicts the
held-out images with the Predictor and scores them with core.metrics. Prints JSON.

Each dataset compares two recipes side by side in one run, each in its own process with one torch thread:
  DSB today: `--labels-format mask`, the distance-transform watershed, minimum size 15 (main before issue 14);
  DSB new:   `--labels-format instances --instance-target touching-border`: the touching-border class,
             post-processing (the split by shape, threshold, seed level, minimum size, flips) chosen on the
             run's validation images.
  ISBI today: masks, main's recipe before issue 14 item 3 (no flips);
  ISBI new:   masks, depth 4 / base 8 (twice the receptive field; 1.3x the FLOPs per patch, so give it
              `--new-steps` = 0.77x `--steps`) and flips chosen on the run's validation images: the candidate
              that did best on slices 10-14 (README, Measured); the membrane weight map did worse there.
  Both: pixel error and the ISBI Rand error (core.metrics.cell_rand_error) on the test slices.
`--seeds N` trains each recipe N times (seeds 0..N-1) and reports mean, min and max over the seeds, and the
mean per-image difference new - today with a 95 % bootstrap interval over the images (paired.py).

Splits: ISBI slices 00-14 train, 15-19 test (contiguous: neighbouring slices are correlated); DSB: a seeded
quarter of the 60 images (stratified by image size) is the test set. Training holds out its own validation
images from the rest; test images never choose anything.
Usage: python benchmarks/dense.py --dataset isbi|dsb [--seconds 300 | --steps N [--new-steps M]] [--seeds 3]
       [--recipe both|today|new [--json-out F]] [--compare TODAY.json NEW.json] [--preset balanced] [--model '{...}'] [--config '{...}'] [--cpu native|no-bf16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dataset_dir, load_pairs  # noqa: E402
from model_choice import add_model_options, chosen_model, preset_name  # noqa: E402
from paired import paired_differences  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine  # noqa: E402

from unet_studio.data.augment_config import AugmentConfig  # noqa: E402
from unet_studio.core.metrics import cell_rand_error, evaluate_pair, mean_average_precision  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.training.api import iter_train_folders  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import TrainingFinished  # noqa: E402

DATASETS = {"isbi": "isbi2012_em_membranes", "dsb": "dsb2018_fluo_nuclei"}
# dataset -> recipe -> (labels format, TrainConfig fields, ModelConfig fields); --config adds to both recipes'
# training settings, --preset / --model are both recipes' model, under the recipe's own model fields.
RECIPES = {
    "dsb": {"today": ("mask", {"choose_flips": False}, {}),
            "new": ("instances", {"instance_target": "touching-border"}, {})},
    "isbi": {"today": ("mask", {"choose_flips": False}, {}), "new": ("mask", {}, {"depth": 4})},
}


def split(dataset: str, pairs, held_out: str = "test"):
    """(train, test) lists of (id, image, mask). ``held_out="validation"`` scores data the final figures never
    train on or score, for choosing a recipe: ISBI slices 10-14 of a run on 00-09; DSB a seeded quarter of the
    training images (stratified by size, like the test set) of a run on the other three quarters."""
    if dataset == "isbi":
        first, last = (10, 15) if held_out == "validation" else (15, 20)
        return [p for p in pairs if int(p[0]) < first], [p for p in pairs if first <= int(p[0]) < last]
    train, test = _quarter_out(pairs, 2018)
    return _quarter_out(train, 2019) if held_out == "validation" else (train, test)


def _quarter_out(pairs, seed: int):
    """(rest, quarter): a seeded quarter of each image size's pairs (at least one) held out."""
    rng = np.random.default_rng(seed)
    rest, quarter = [], []
    for shape in sorted({p[1].shape for p in pairs}):
        group = [p for p in pairs if p[1].shape == shape]
        order = rng.permutation(len(group))
        n_out = max(1, len(group) // 4)
        quarter += [group[i] for i in order[:n_out]]
        rest += [group[i] for i in order[n_out:]]
    return rest, quarter


def train_model(dataset: str, train, recipe: str, config: TrainConfig, model_config, folder: Path) -> TrainingFinished:
    """Train on the train pairs written to `folder`: masks (today) or the instance label TIFFs (new)."""
    images, labels = folder / "images", folder / "labels"
    images.mkdir()
    labels.mkdir()
    source = dataset_dir(DATASETS[dataset])
    for name, image, mask in train:
        cv2.imwrite(str(images / f"{name}.png"), image)
        if RECIPES[dataset][recipe][0] == "instances":
            shutil.copyfile(source / "instances" / f"{name}.tif", labels / f"{name}.tif")
        else:
            cv2.imwrite(str(labels / f"{name}.png"), mask)
    finished = None
    events = iter_train_folders(images, labels, folder / "model.pt", model_config, config,
                                labels_format=RECIPES[dataset][recipe][0], stop=threading.Event())
    for event in events:
        if isinstance(event, TrainingFinished):
            finished = event
    return finished


def score(dataset: str, predictor: Predictor, test) -> dict:
    results = {}
    folder = dataset_dir(DATASETS[dataset])
    for name, image, mask in test:
        instances = dataset == "dsb"
        pred = predictor.predict(image[:, :, None] if image.ndim == 2 else image, instances=instances)
        truth_instances = tifffile.imread(folder / "instances" / f"{name}.tif") if instances else None
        result = evaluate_pair(pred.mask, mask, 2, pred.instances, truth_instances, iou_thresholds=(0.5,))
        results[name] = {"pixel_error": result["pixel_error"], "dice": result["per_class"]["1"]["dice"]}
        if dataset == "isbi":
            results[name]["rand_error"] = cell_rand_error(pred.mask, mask)
        if instances:
            results[name].update({"ap@0.5": result["ap@0.5"],
                                  "map": mean_average_precision(pred.instances, truth_instances)})
    return results


def recipe_steps(args, recipe: str) -> int | None:
    """The step budget of `recipe`: --new-steps for the new one when given, else --steps (None: --seconds)."""
    return args.new_steps if recipe == "new" and args.new_steps else args.steps


def run_seed(args, recipe: str, seed: int, train, test) -> dict:
    """One training run and its scores on the test images (means over them, and each image)."""
    _, recipe_config, recipe_model = RECIPES[args.dataset][recipe]
    extra = {**recipe_config, **json.loads(args.config)}
    if isinstance(extra.get("augment"), (dict, str)):  # a preset name or AugmentConfig fields over the defaults
        augment = extra["augment"]
        extra["augment"] = AugmentConfig.preset(augment) if isinstance(augment, str) else AugmentConfig.from_dict(augment)
    steps = recipe_steps(args, recipe)
    limits = {"max_steps": steps} if steps else {"max_seconds": args.seconds}
    config = TrainConfig(device="cpu", seed=seed, num_threads=args.threads, **{**limits, **extra})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        finished = train_model(args.dataset, train, recipe, config, chosen_model(args, **recipe_model), Path(tmp))
        trained_s = time.perf_counter() - started
        predictor = Predictor.from_checkpoint(finished.checkpoint_path, device="cpu")
        if args.keep_model:
            shutil.copyfile(finished.checkpoint_path, f"{args.keep_model}.{recipe}.seed{seed}.pt")
        started = time.perf_counter()
        per_image = score(args.dataset, predictor, test)
        predict_s = time.perf_counter() - started
        history, postprocess = finished.history, predictor.postprocess
    keys = ["pixel_error", "dice"] + (["ap@0.5", "map"] if args.dataset == "dsb" else ["rand_error"])
    return {
        "seed": seed, "mean": {k: float(np.mean([r[k] for r in per_image.values()])) for k in keys},
        "steps": (history.get("steps") or [None])[-1], "threshold": predictor.threshold,
        "tta": predictor.config.tta, "postprocess": postprocess, "train_and_choose_s": round(trained_s, 1),
        "predict_test_s": round(predict_s, 1), "patches_per_s": (history.get("patches_per_s") or [None])[-1],
        "reason": finished.reason, "per_image": per_image,
    }


def spread(runs: list[dict]) -> dict:
    """mean, min, max over the seeds of each mean score."""
    keys = runs[0]["mean"].keys()
    return {k: {"mean": float(np.mean([r["mean"][k] for r in runs])), "min": float(min(r["mean"][k] for r in runs)),
                "max": float(max(r["mean"][k] for r in runs))} for k in keys}


def run_recipe(args, recipe: str) -> dict:
    apply_cpu_mode(args.cpu)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # prediction too, not only training (TrainConfig.num_threads)
    train, test = split(args.dataset, load_pairs(DATASETS[args.dataset]), args.held_out)
    load_before = os.getloadavg()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    labels_format, config, model = RECIPES[args.dataset][recipe]
    runs = []
    for seed in seeds:
        runs.append(run_seed(args, recipe, seed, train, test))
        result = {"recipe": recipe, "labels_format": labels_format, "recipe_config": config,
                  "model": chosen_model(args, **model).to_dict(), "steps": recipe_steps(args, recipe), "n_train": len(train),
                  "n_test": len(test), "spread": spread(runs), "runs": runs, "machine": machine(args.cpu),
                  "load_average_before": load_before, "load_average_after": os.getloadavg()}
        if args.json_out:  # after every seed, so a run cut short still leaves the seeds it finished
            Path(args.json_out).write_text(json.dumps(result, indent=2))
    return result


def side_by_side(args) -> dict:
    """Both recipes at once, each in its own process (one torch thread each), and the new/today ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        outputs, processes = {}, {}
        for recipe in ("today", "new"):
            outputs[recipe] = Path(tmp) / f"{recipe}.json"
            command = [sys.executable, __file__, *sys.argv[1:], "--recipe", recipe, "--threads", "1",
                       "--json-out", str(outputs[recipe])]
            processes[recipe] = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
        for recipe, process in processes.items():
            if process.wait() != 0:
                raise SystemExit(f"the {recipe} recipe's process failed (exit status {process.returncode})")
        results = {recipe: json.loads(path.read_text()) for recipe, path in outputs.items()}
    return compared(args, results["today"], results["new"], "two at once (today, new), one torch thread each")


def compared(args, today_run: dict, new_run: dict, processes: str) -> dict:
    """The two recipes' results side by side, with the new/today ratios of the means over seeds and the
    per-image differences with their bootstrap intervals (paired.py: is the difference beyond the noise?)."""
    today, new = today_run["spread"], new_run["spread"]
    ratios = {k: new[k]["mean"] / today[k]["mean"] if today[k]["mean"] else None for k in today}
    summary = {k: {"today": today[k], "new": new[k]} for k in today}
    return {"benchmark": f"dense {args.dataset}", "seconds": args.seconds, "seeds": args.seeds,
            "preset": preset_name(args), "model": chosen_model(args).to_dict(), "steps": args.steps,
            "new_steps": args.new_steps or args.steps,
            "config": json.loads(args.config), "cpu_mode": args.cpu, "processes": processes,
            "summary": summary, "ratio_new_to_today": ratios,
            "paired_difference": paired_differences(today_run["runs"], new_run["runs"]), "today": today_run,
            "new": new_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), required=True)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--steps", type=int, default=None,
                        help="train this many steps instead of --seconds (a budget that does not depend on the load)")
    parser.add_argument("--new-steps", type=int, default=None,
                        help="the new recipe's steps (default --steps): fewer where it costs more per step, so both "
                             "get the steps they reach in the same seconds")
    parser.add_argument("--seeds", type=int, default=1, help="runs per recipe (seeds 0..N-1)")
    parser.add_argument("--first-seed", type=int, default=0, help="start the seeds there (N..N+seeds-1)")
    parser.add_argument("--recipe", choices=["both", "today", "new"], default="both",
                        help="both (side by side, the default), or one of them in this process")
    parser.add_argument("--held-out", choices=["test", "validation"], default="test",
                        help="score the test images, or (validation, for choosing a recipe) ISBI slices 10-14 of a run on 00-09, "
                             "DSB a quarter of the training images of a run on the rest")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    add_model_options(parser)
    parser.add_argument("--config", default="{}", help="extra TrainConfig fields as JSON")
    parser.add_argument("--cpu", choices=CPU_MODES[:2], default="native")
    parser.add_argument("--keep-model", help="copy each trained checkpoint to PREFIX.<recipe>.seed<N>.pt")
    parser.add_argument("--json-out", help="write the results there (a single recipe: after every seed)")
    parser.add_argument("--compare", nargs=2, metavar=("TODAY.json", "NEW.json"),
                        help="side by side from two single-recipe --json-out files (runs made apart or cut short)")
    args = parser.parse_args()
    if args.compare:
        runs = [json.loads(Path(path).read_text()) for path in args.compare]
        result = compared(args, *runs, "read from " + " and ".join(args.compare))
    else:
        result = side_by_side(args) if args.recipe == "both" else run_recipe(args, args.recipe)
    text = json.dumps(result, indent=2)
    if args.json_out:
        Path(args.json_out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
