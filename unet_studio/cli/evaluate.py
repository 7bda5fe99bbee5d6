"""`unet-studio evaluate --pred DIR --truth DIR`: Dice/IoU per class, pixel error and two instance APs as JSON.

"ap@0.5" is the DSB 2018 measure (TP / (TP + FP + FN) per image, averaged over the images); "coco_ap@0.5" is
COCO-style AP (pycocotools' COCOeval at that one IoU: detections of all images pooled, 101-point interpolated
precision, every detection counted; under "mean" it is that pooled figure, not a mean of the images).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from unet_studio.cli.output import problem
from unet_studio.core.coco_ap import coco_average_precision, coco_matches
from unet_studio.core.errors import StudioError
from unet_studio.core.images import file_stem, list_images
from unet_studio.core.metrics import evaluate_pair
from unet_studio.inference.postprocess import mask_to_instances
from unet_studio.io.label_files import read_label_image


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="compare predicted masks with ground truth; prints JSON")
    p.add_argument("--pred", required=True, help="folder of predicted masks (PNG/TIFF) or instance TIFFs")
    p.add_argument("--truth", required=True, help="folder of true masks with the same stems")
    p.add_argument("--iou", type=float, default=0.5,
                   help="IoU threshold of the two APs (default 0.5): ap@IOU, the DSB 2018 measure (mean per image of "
                        "TP / (TP + FP + FN)), and coco_ap@IOU, COCO-style AP over all images' objects")
    p.set_defaults(handler=run)


def _as_instances(labels: np.ndarray) -> np.ndarray:
    """Instance TIFFs are used as they are; a semantic mask is split into connected objects."""
    if labels.max(initial=0) > 1 and labels.dtype != np.uint8:
        return labels
    return mask_to_instances(labels, split_touching=False)


def evaluate_folders(pred_dir: Path, truth_dir: Path, iou: float = 0.5) -> tuple[dict, list[str]]:
    """Scores per image and their means; problems (missing partners, shape mismatches) as one-liners."""
    problems: list[str] = []
    truths = {file_stem(p): p for p in list_images(truth_dir)}
    per_image: dict[str, dict] = {}
    matches = []
    for pred_path in list_images(pred_dir):
        truth_path = truths.get(file_stem(pred_path))
        if truth_path is None:
            problems.append(f"{pred_path}: no truth file with the same name in {truth_dir}")
            continue
        try:
            pred, truth = read_label_image(pred_path), read_label_image(truth_path)
            if pred.shape != truth.shape:
                raise StudioError(pred_path, f"shape {pred.shape} differs from the truth's {truth.shape}")
            pred_sem, truth_sem = _semantic(pred), _semantic(truth)
            n_classes = int(max(pred_sem.max(initial=0), truth_sem.max(initial=0))) + 1
            pred_objects, true_objects = _as_instances(pred), _as_instances(truth)
            scores = evaluate_pair(pred_sem, truth_sem, max(n_classes, 2), pred_objects, true_objects,
                                   iou_thresholds=(iou,))
            matches.append(coco_matches(pred_objects, true_objects, iou))
            scores[f"coco_ap@{iou:g}"] = coco_average_precision(matches[-1:])
            per_image[file_stem(pred_path)] = scores
        except StudioError as exc:
            problems.append(str(exc))
    summary = _summary(per_image, iou)
    summary["mean"][f"coco_ap@{iou:g}"] = coco_average_precision(matches) if matches else None
    return summary, problems


def _semantic(labels: np.ndarray) -> np.ndarray:
    """Instance images (uint16/32 with many ids) count as one foreground class for the semantic scores."""
    if labels.dtype != np.uint8 and labels.max(initial=0) > 1:
        return (labels > 0).astype(np.uint8)
    return labels


def _summary(per_image: dict[str, dict], iou: float) -> dict:
    keys = ["mean_dice", "mean_iou", "pixel_error", f"ap@{iou:g}"]
    means = {}
    for key in keys:
        values = [r[key] for r in per_image.values() if r.get(key) is not None]
        means[key] = float(np.mean(values)) if values else None
    classes: dict[str, dict[str, list[float]]] = {}
    for result in per_image.values():
        for cls, scores in result["per_class"].items():
            for name in ("dice", "iou"):
                if scores.get(name) is not None:
                    classes.setdefault(cls, {}).setdefault(name, []).append(scores[name])
    per_class = {c: {n: float(np.mean(v)) for n, v in s.items()} for c, s in classes.items()}
    images = {k: {m: v for m, v in r.items() if m != "confusion"} for k, r in per_image.items()}
    return {"n_images": len(per_image), "mean": means, "per_class": per_class, "images": images}


def run(args: argparse.Namespace) -> int:
    for folder, what in ((args.pred, "prediction"), (args.truth, "truth")):
        if not list_images(folder):
            raise StudioError(folder, f"no {what} files (PNG or TIFF masks) in this folder: nothing to score")
    summary, problems = evaluate_folders(Path(args.pred), Path(args.truth), args.iou)
    for line in problems:
        problem(line)
    print(json.dumps(summary, indent=2))
    return 1 if problems else 0
