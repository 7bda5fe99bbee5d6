"""Training throughput of the real Trainer (sampling, augmentation, loss, AdamW): patches/s at 256 x 256
with our CPU path (bfloat16 autocast + channels_last) against the same model in plain float32.

The two run in alternating rounds so a noisy machine hurts them alike; the ratio is the number to read.
Data: DSB 2018 nuclei images from ../shared/data when present, else synthetic blobs. Prints JSON.
Usage: python benchmarks/train_speed.py [--preset balanced] [--steps 12] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isbi_data import SHARED, load_pairs  # noqa: E402

from unet_studio.core.normalize import normalize_for_network  # noqa: E402
from unet_studio.data.sampling import TrainItem  # noqa: E402
from unet_studio.models.config import ModelConfig  # noqa: E402
from unet_studio.training.config import TrainConfig  # noqa: E402
from unet_studio.training.events import StepEnded  # noqa: E402
from unet_studio.training.trainer import Trainer  # noqa: E402

CLASSES = [{"value": 1, "name": "background", "color": "#808080"}, {"value": 2, "name": "nucleus", "color": "#e41a1c"}]


def items() -> list[TrainItem]:
    if (SHARED / "dsb2018_fluo_nuclei").is_dir():
        pairs = load_pairs("dsb2018_fluo_nuclei")[:12]
    else:
        rng = np.random.default_rng(0)
        pairs = []
        for i in range(8):
            mask = (rng.random((256, 256)) > 0.7).astype(np.uint8)
            pairs.append((str(i), (mask * 200 + rng.integers(0, 40, mask.shape)).astype(np.uint8), mask))
    return [TrainItem(normalize_for_network(image[:, :, None]), mask.astype(np.int64), name) for name, image, mask in pairs]


def patches_per_s(model_config: ModelConfig, data, amp: bool, steps: int, folder: Path) -> float:
    """Median patches/s over the steps after the first two (warm-up)."""
    config = TrainConfig(max_steps=steps, steps_per_epoch=steps + 1, amp=amp, device="cpu", batch_size=4,
                         patch_size=256)
    trainer = Trainer(model_config, config, data, [], CLASSES, folder / f"m-{amp}.pt")
    times = [e.elapsed_s for e in trainer.iter_fit(threading.Event()) if isinstance(e, StepEnded)]
    per_step = np.diff(times)[2:]
    return float(config.batch_size / np.median(per_step))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model_config = ModelConfig.from_preset(args.preset)
    data = items()
    results = {"ours_bf16_channels_last": [], "plain_fp32": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            results["ours_bf16_channels_last"].append(patches_per_s(model_config, data, True, args.steps, Path(tmp)))
            results["plain_fp32"].append(patches_per_s(model_config, data, False, args.steps, Path(tmp)))
    medians = {k: statistics.median(v) for k, v in results.items()}
    print(json.dumps({
        "benchmark": "training patches/s at 256x256, batch 4", "preset": args.preset,
        "model": model_config.to_dict(), "threads": torch.get_num_threads(),
        "patches_per_s": {k: round(v, 2) for k, v in medians.items()},
        "rounds": {k: [round(x, 2) for x in v] for k, v in results.items()},
        "speedup": round(medians["ours_bf16_channels_last"] / medians["plain_fp32"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
