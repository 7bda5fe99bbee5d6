"""`unet-studio info MODEL.pt`: a summary of a checkpoint file (the model card of an exported model is
export/card.model_card)."""

from __future__ import annotations

import argparse
import json

from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.models.pixel_forest import FOREST_KEY, PixelForest
from unet_studio.training.flip_choice import describe_flips
from unet_studio.training.postprocess_choice import describe_shape_split


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="print a model's card: architecture, classes, training history")
    p.add_argument("model", help="checkpoint file (.pt) written by unet-studio")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(handler=run)


def checkpoint_summary(path: str) -> dict:
    """The checkpoint's plain-data description, without the weights."""
    ckpt = load_checkpoint(path)
    history = ckpt.history
    n_params = int(sum(t.numel() for t in ckpt.state_dict.values() if t.is_floating_point()))
    return {
        "file": str(ckpt.path),
        "created": ckpt.created,
        "interrupted": ckpt.interrupted,
        "architecture": ckpt.model_config.to_dict(),
        "parameters": n_params,
        "classes": ckpt.classes,
        "normalization": ckpt.normalization,
        "threshold": ckpt.threshold,
        "recipe": ckpt.recipe.to_dict(),
        "postprocess": ckpt.postprocess,
        "pixel_forest": _forest_summary(PixelForest.from_plain(ckpt.extra.get(FOREST_KEY))),
        "metrics": ckpt.metrics,
        "training": {
            key: history.get(key)
            for key in ("steps", "epochs", "seconds", "batch_size", "patch_size", "patches_per_s", "images",
                        "validation_images")
            if key in history
        },
        "train_config": ckpt.train_config,
    }


def _forest_summary(forest: PixelForest | None) -> dict | None:
    return None if forest is None else {"trees": int(forest.left.shape[0]), "depth": forest.depth}


def _text(card: dict) -> str:
    arch = card["architecture"]
    classes = ", ".join(f"{c.get('value')}={c.get('name')}" for c in card["classes"])
    lines = [
        f"model      {card['file']}{'  (interrupted run)' if card['interrupted'] else ''}",
        f"created    {card['created']}",
        f"network    {arch['arch']} depth {arch['depth']}, {arch['base_channels']} base channels, "
        f"{arch['norm']} norm, {arch['upsample']} up-sampling, {arch['padding']} padding "
        f"({card['parameters']:,} parameters)",
        f"input      {arch['in_channels']} channel(s), percentile normalisation "
        f"{card['normalization'].get('low')}-{card['normalization'].get('high')}",
        f"classes    {classes}",
    ]
    if card["recipe"]["target"] != "semantic":
        lines.append(f"target     classes + touching border ({card['recipe']['border_width']} px), one more output")
    if card["threshold"] is not None:
        lines.append(f"threshold  {card['threshold']:.2f} (foreground probability, picked on validation)")
    post = card["postprocess"]
    if post and "seed_level" not in post:
        lines.append(f"flips      {describe_flips(post)}")
    elif post:
        lines.append(f"instances  seed level {post['seed_level']:g}, minimum size {post['min_size']} px, "
                     f"{describe_shape_split(post)}, flips "
                     f"{'on' if post['tta'] else 'off'}: validation mAP {post['val_map']:.3f}, "
                     f"AP@0.5 {post['val_ap50']:.3f} on {post['n_images']} image(s)")
    if card.get("pixel_forest"):
        forest = card["pixel_forest"]
        lines.append(f"forest     {forest['trees']} trees of depth {forest['depth']} fitted on the scribbles, averaged "
                     "with the network (ONNX and bioimage.io exports hold the network alone)")
    training = card["training"]
    if training:
        lines.append("training   " + ", ".join(f"{k} {_short(v)}" for k, v in training.items()
                                              if k not in ("images", "validation_images")))
        if training.get("images"):
            n_val = len(training.get("validation_images") or [])
            lines.append(f"images     {len(training['images'])} used, {n_val} of them for validation")
    for key, value in card["metrics"].items():
        lines.append(f"metric     {key} {_short(value)}")
    return "\n".join(lines)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return _short(value[-1]) if value else "-"
    if isinstance(value, dict):
        return json.dumps(value)[:80]
    return str(value)


def run(args: argparse.Namespace) -> int:
    summary = checkpoint_summary(args.model)
    print(json.dumps(summary, indent=2) if args.json else _text(summary))
    return 0
