"""Scribbles drawn in several annotator styles on ISBI 2012: UNet Studio vs the random-forest peer, per style.

For each style (scribbles.py, plus `two_slices`: the `inside` strokes on slices 00 and 01 only), both learn
from the same scribbles on slices 00-04. Ours trains for `--seconds` through training.api (as `unet-studio
train`); the peer is sparse_isbi.random_forest's scikit-image segmenter. Both are scored by membrane Dice
on the DEV slices 05-09 and the held-out TEST slices 10-19. Ours is scored under each threshold rule:

* `checkpoint`: what the trained checkpoint does on its own (its stored threshold, else argmax): the product;
* `argmax`: p(membrane) >= 0.5, the class-balanced network's own decision;
* `prior`: the Saerens EM prior-corrected threshold (training/prior.py) computed on the training slices.

The rule is chosen on the dev slices only (largest worst-style margin over the peer, then the mean margin);
the test slices only report. One JSON line per style as it finishes, then a summary line.
`--summarize FILE...` combines saved lines of several runs into one summary (runs of one style, e.g. two
seeds, averaged).

Usage: python benchmarks/scribble_styles.py [--styles inside,thin,...] [--seconds 120 | --steps N] [--cpu no-bf16]
       [--summarize a.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import dice, load_pairs  # noqa: E402
from model_choice import add_model_options, preset_name  # noqa: E402
from scribbles import STYLES, make_scribbles  # noqa: E402
from sparse_isbi import TEST_IDS, TRAIN_IDS, random_forest, train_and_predict  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine  # noqa: E402

from unet_studio.core.normalize import normalize_for_network  # noqa: E402
from unet_studio.data.augment_config import PRESET_NAMES, AugmentConfig  # noqa: E402
from unet_studio.data.sampling import TrainItem  # noqa: E402
from unet_studio.training.prior import prior_corrected_threshold  # noqa: E402

DEV_IDS = ["05", "06", "07", "08", "09"]
ALL_STYLES = STYLES + ("two_slices",)
RULES = ("checkpoint", "argmax", "prior")


def style_annotations(train, style: str, fraction: float) -> list[np.ndarray]:
    """One annotation per training slice; `two_slices` leaves all but the first two unlabelled."""
    if style == "two_slices":
        return [make_scribbles(mask, fraction, seed=i) if i < 2 else np.zeros_like(mask)
                for i, (_, _, mask) in enumerate(train)]
    return [make_scribbles(mask, fraction, seed=i, style=style) for i, (_, _, mask) in enumerate(train)]


def prior_threshold(predictor_model, train, annotations) -> float | None:
    """training/prior.py's threshold for the trained network on the labelled training slices."""
    items = [TrainItem(normalize_for_network(image[:, :, None]), annotation.astype(np.int64) - 1, name)
             for (name, image, _), annotation in zip(train, annotations) if annotation.any()]
    return prior_corrected_threshold(predictor_model, items, tile=256, overlap=32, device=torch.device("cpu"),
                                     precision="fp32")


def mean_dice(foreground: dict[str, np.ndarray], pairs, cut: float) -> float:
    return float(np.mean([dice(foreground[name] >= cut, mask) for name, _, mask in pairs]))


def best_cut(foreground: dict[str, np.ndarray], pairs) -> tuple[float, float]:
    """(threshold, Dice) of the best threshold in 0.05 steps: for information only, never used by a rule."""
    cuts = np.round(np.arange(0.1, 0.91, 0.05), 2)
    scores = [mean_dice(foreground, pairs, c) for c in cuts]
    return float(cuts[int(np.argmax(scores))]), round(float(max(scores)), 4)


def run_style(style: str, args, train, dev, test) -> dict:
    annotations = style_annotations(train, style, args.fraction)
    start = time.perf_counter()
    extra = {**json.loads(args.config), **({"max_steps": args.steps} if args.steps else {}),
             "augment": AugmentConfig.preset(args.augment)}
    summary, foreground, model = train_and_predict(train, annotations, args.seconds, preset_name(args), extra,
                                                   json.loads(args.model), dev + test, keep_model=True)
    prior = prior_threshold(model, train, annotations)
    cuts = {"checkpoint": 0.5 if summary["threshold"] is None else summary["threshold"], "argmax": 0.5,
            "prior": 0.5 if prior is None else prior}
    splits = {"dev": dev, **({"test": test} if test else {})}
    ours = {split: {rule: round(mean_dice(foreground, pairs, cut), 4) for rule, cut in cuts.items()}
            for split, pairs in splits.items()}
    peer = random_forest(train, dev + test, annotations)
    peer_scores = {split: round(float(np.mean([peer["per_slice"][n] for n, _, _ in pairs])), 4)
                   for split, pairs in splits.items()}
    scored = test or dev
    fg_truth = float(np.mean([m.mean() for _, _, m in scored]))
    fg_pred = float(np.mean([(foreground[n] >= cuts["checkpoint"]).mean() for n, _, _ in scored]))
    return {"style": style, "labelled_fraction": round(float(np.mean([(a > 0).mean() for a in annotations])), 4),
            "labelled_slices": sum(bool(a.any()) for a in annotations),
            "budget": {"steps": args.steps} if args.steps else {"seconds": args.seconds},
            "settings": {"preset": args.preset, "model": json.loads(args.model), "config": json.loads(args.config),
                         "augment": args.augment, "threads": args.threads},
            "ours": ours, "random_forest": peer_scores, "thresholds": {**cuts, "prior_raw": prior},
            "dev_best_cut_for_information": best_cut(foreground, dev),
            "membrane_fraction": {"slices": "test" if test else "dev", "truth": round(fg_truth, 4),
                                  "checkpoint_rule": round(fg_pred, 4)},
            "training": summary, "peer_fit_s": peer["fit_s"], "wall_s": round(time.perf_counter() - start, 1),
            "machine": machine(args.cpu)}


def summarize(results: list[dict]) -> dict:
    """The rule chosen on dev slices, then every rule's test scores next to the peer's, per style. Several runs
    of a style (seeds) count as one: their mean, with each run's scores beside it."""
    results = _seed_means(results)
    margins = {rule: [r["ours"]["dev"][rule] - r["random_forest"]["dev"] for r in results] for rule in RULES}
    ranked = sorted(RULES, key=lambda rule: (min(margins[rule]), np.mean(margins[rule])), reverse=True)
    choice = {"summary": "scribble styles, ISBI 2012", "styles": [r["style"] for r in results],
              "runs_per_style": {r["style"]: r["runs"] for r in results},
              "rule_choice": {"chosen_on": f"dev slices {DEV_IDS[0]}-{DEV_IDS[-1]}", "chosen": ranked[0],
                              "dev_margin_over_peer": _min_mean(margins)},
              "dev_dice": {r["style"]: {"peer": r["random_forest"]["dev"], **r["ours"]["dev"],
                                        "per_run": r["per_run"]["dev"]} for r in results}}
    if not all("test" in r["ours"] for r in results):
        return choice
    table = {r["style"]: {"peer": r["random_forest"]["test"], **r["ours"]["test"], "per_run": r["per_run"]["test"]}
             for r in results}
    test_margins = {rule: [r["ours"]["test"][rule] - r["random_forest"]["test"] for r in results] for rule in RULES}
    return {**choice, "test_dice": table, "test_margin_over_peer": _min_mean(test_margins)}


def _seed_means(results: list[dict]) -> list[dict]:
    """One entry per style (in first-seen order): ours and the peer averaged over its runs, the checkpoint
    rule's score of each run under `per_run`."""
    styles = list(dict.fromkeys(r["style"] for r in results))
    merged = []
    for style in styles:
        runs = [r for r in results if r["style"] == style]
        splits = [split for split in runs[0]["ours"] if all(split in r["ours"] for r in runs)]
        merged.append({
            "style": style, "runs": len(runs),
            "ours": {split: {rule: round(float(np.mean([r["ours"][split][rule] for r in runs])), 4) for rule in RULES}
                     for split in splits},
            "random_forest": {split: round(float(np.mean([r["random_forest"][split] for r in runs])), 4)
                              for split in splits},
            "per_run": {split: [r["ours"][split]["checkpoint"] for r in runs] for split in splits}})
    return merged


def _min_mean(margins: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {rule: {"min": round(min(m), 4), "mean": round(float(np.mean(m)), 4)} for rule, m in margins.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", default=",".join(ALL_STYLES))
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--steps", type=int, help="train this many steps instead of --seconds (a budget that does "
                        "not depend on the machine's load: 120 s on a CPU at R patches/s is 30 R steps)")
    parser.add_argument("--fraction", type=float, default=0.02)
    add_model_options(parser)
    parser.add_argument("--config", default="{}", help="extra TrainConfig fields as JSON")
    parser.add_argument("--augment", choices=PRESET_NAMES, default="default", help="augmentation preset")
    parser.add_argument("--dev-only", action="store_true", help="score the dev slices only (while choosing)")
    parser.add_argument("--threads", type=int, help="torch threads (one is faster on a crowded machine)")
    parser.add_argument("--cpu", choices=CPU_MODES[:2], default="native",
                        help="no-bf16: train in the fp32 a CPU without native bf16 gets")
    parser.add_argument("--summarize", nargs="*", help="JSON-line files of earlier runs to combine")
    args = parser.parse_args()
    apply_cpu_mode(args.cpu)
    if args.summarize:
        lines = [json.loads(line) for path in args.summarize for line in Path(path).read_text().splitlines()]
        print(json.dumps(summarize([r for r in lines if "style" in r])))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    styles = [s for s in args.styles.split(",") if s]
    unknown = sorted(set(styles) - set(ALL_STYLES))
    if unknown:
        parser.error(f"unknown style(s) {', '.join(unknown)}; choose from {', '.join(ALL_STYLES)}")
    train = load_pairs("isbi2012_em_membranes", TRAIN_IDS)
    dev = load_pairs("isbi2012_em_membranes", DEV_IDS)
    test = [] if args.dev_only else load_pairs("isbi2012_em_membranes", TEST_IDS)
    results = []
    for style in styles:
        results.append(run_style(style, args, train, dev, test))
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps(summarize(results)), flush=True)


if __name__ == "__main__":
    main()
