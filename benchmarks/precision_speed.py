"""Is the precision the policy picks ever slower than plain fp32? The probe, then the default model in each.

Runs the probe afresh (into a temporary cache folder, so a cached answer cannot hide a change), then times the
default model's training step (256 x 256, batch 4, AdamW) and one-tile prediction (512 x 512) in fp32 and in
every mixed precision the hardware supports, in alternating rounds. ``chosen_vs_fp32`` must be >= ~1.
Usage: python benchmarks/precision_speed.py [--cpu native|no-bf16|avx2] [--rounds 3] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402


def predict_tile_s(model, precision, side: int = 512, calls: int = 3) -> float:
    """Median seconds of one eval forward pass on a side x side tile (channels_last, ``precision``)."""
    import torch

    model = model.eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, 1, side, side).contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for call in range(calls + 1):
            start = time.perf_counter()
            with precision.autocast():
                model(x)
            if call:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    reexec_for_cpu_mode()
    os.environ["UNET_STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="precision-probe-")
    apply_cpu_mode(args.cpu)
    import torch

    from unet_studio.models.registry import build_model
    from unet_studio.runtime.precision import Precision, choose_precision, hardware_support
    from unet_studio.training.speed_check import default_model_config, train_patches_per_s

    start = time.perf_counter()
    chosen = choose_precision("cpu")
    probe_s = time.perf_counter() - start
    names = ["fp32"] + [name for name, why in hardware_support(torch.device("cpu")).items() if why is None]
    config = default_model_config()
    train = {name: [] for name in names}
    predict = {name: [] for name in names}
    for _ in range(args.rounds):
        for name in names:
            precision = Precision("cpu", name, "benchmark")
            torch.manual_seed(0)
            train[name].append(train_patches_per_s(build_model(config), torch.device("cpu"), precision, args.steps))
            predict[name].append(predict_tile_s(build_model(config), precision))
    train_median = {name: statistics.median(v) for name, v in train.items()}
    predict_mp = {name: 512 * 512 / statistics.median(v) / 1e6 for name, v in predict.items()}
    print(json.dumps({
        "benchmark": "precision policy vs plain fp32, default model", "machine": machine(args.cpu),
        "chosen": chosen.describe(), "probe_seconds": round(probe_s, 2),
        "train_patches_per_s": {k: round(v, 2) for k, v in train_median.items()},
        "predict_tile_megapixels_per_s": {k: round(v, 3) for k, v in predict_mp.items()},
        "chosen_vs_fp32": {"train": round(train_median[chosen.name] / train_median["fp32"], 2),
                           "predict": round(predict_mp[chosen.name] / predict_mp["fp32"], 2)},
        "rounds": {"train": train, "predict_s": predict},
    }, indent=2))


if __name__ == "__main__":
    main()
