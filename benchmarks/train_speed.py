"""Training throughput of the default model at 256 x 256, batch 4: our path against plain fp32 eager, side by side.

* ``ours_trainer``: the real Trainer (sampling, augmentation, loss, AdamW) in the precision the policy picks
  (``--cpu no-bf16`` / ``avx2`` force the fp32 branch; see speed_machine.py), in the memory layout it
  chooses (runtime/memory_layout.py: measured in CPU float32, channels_last otherwise).
* ``ours_loop``: the same network step without the data pipeline (training.speed_check), policy precision.
* ``plain_fp32_eager``: that step in float32, default (contiguous) memory layout, no autocast.

They run in alternating rounds so a noisy machine hurts them alike; the ratios are the numbers to read.
Per-CPU-second figures (this process's CPU time) are close to an idle core's speed on a busy machine when
run with ``--threads 1``.
Achieved GFLOP/s use FLOPs counted by torch's FlopCounterMode, next to the CPU's fp32 peak.
Data: DSB 2018 nuclei images from ../shared/data when present, else synthetic blobs. Prints JSON.
Usage: python benchmarks/train_speed.py [--cpu native|no-bf16|avx2] [--steps 6] [--rounds 3] [--threads N]
       [--preset NAME] [--model JSON]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_choice import add_model_options, chosen_model, preset_name  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402


def items():
    from isbi_data import SHARED, load_pairs

    from unet_studio.core.normalize import normalize_for_network
    from unet_studio.data.sampling import TrainItem

    if (SHARED / "dsb2018_fluo_nuclei").is_dir():
        pairs = load_pairs("dsb2018_fluo_nuclei")[:12]
    else:
        rng = np.random.default_rng(0)
        pairs = []
        for i in range(8):
            mask = (rng.random((256, 256)) > 0.7).astype(np.uint8)
            pairs.append((str(i), (mask * 200 + rng.integers(0, 40, mask.shape)).astype(np.uint8), mask))
    return [TrainItem(normalize_for_network(image[:, :, None]), mask.astype(np.int64), name) for name, image, mask in pairs]


def trainer_patches_per_s(model_config, data, steps: int, folder: Path) -> tuple[float, float]:
    """(median patches/s of the real Trainer over the steps after the first two, patches per CPU second of
    the whole run, warm-up and set-up included)."""
    from unet_studio.training.config import TrainConfig
    from unet_studio.training.events import StepEnded
    from unet_studio.training.trainer import Trainer

    classes = [{"value": 1, "name": "background", "color": "#808080"}, {"value": 2, "name": "nucleus", "color": "#e41a1c"}]
    config = TrainConfig(max_steps=steps, steps_per_epoch=steps + 1, device="cpu", batch_size=4, patch_size=256)
    trainer = Trainer(model_config, config, data, [], classes, folder / "m.pt")
    cpu_start = time.process_time()
    times = [e.elapsed_s for e in trainer.iter_fit(threading.Event()) if isinstance(e, StepEnded)]
    cpu_seconds = time.process_time() - cpu_start
    per_step = np.diff(times)
    wall = float(config.batch_size / np.median(per_step[2:] if len(per_step) > 2 else per_step))
    return wall, steps * config.batch_size / cpu_seconds


def loop_patches_per_s(model_config, precision, channels_last: bool, steps: int) -> tuple[float, float]:
    """(patches per wall second, per CPU second) of forward + backward + AdamW in one layout and precision."""
    import torch
    import torch.nn.functional as F

    from unet_studio.models.registry import build_model

    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(model_config).to(memory_format=layout).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(4, 1, 256, 256).contiguous(memory_format=layout)
    target = torch.randint(0, 2, (4, 256, 256))
    times, cpu_times = [], []
    for _ in range(steps + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        with precision.autocast():
            loss = F.cross_entropy(model(images).float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return 4 / statistics.median(times[1:]), 4 / statistics.median(cpu_times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    add_model_options(parser)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    reexec_for_cpu_mode()
    apply_cpu_mode(args.cpu)
    import torch

    from unet_studio.runtime.precision import Precision, choose_precision
    from unet_studio.training.speed_check import count_flops
    from unet_studio.models.registry import build_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model_config = chosen_model(args)
    precision = choose_precision("cpu")
    fp32 = Precision("cpu", "fp32", "baseline")
    data = items()
    runs = {
        "ours_trainer": lambda folder: trainer_patches_per_s(model_config, data, args.steps, folder),
        "ours_loop": lambda folder: loop_patches_per_s(model_config, precision, True, args.steps),
        "plain_fp32_eager": lambda folder: loop_patches_per_s(model_config, fp32, False, args.steps),
    }
    results = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name, run in runs.items():
                results[name].append(run(Path(tmp)))
    medians = {name: statistics.median(wall for wall, _ in values) for name, values in results.items()}
    per_cpu_s = {name: statistics.median(cpu for _, cpu in values) for name, values in results.items()}
    flops = count_flops(build_model(model_config), (1, 1, 256, 256), backward=True)
    setup = machine(args.cpu)
    gflops = {name: round(value * flops / 1e9, 1) for name, value in medians.items()}
    gflops_cpu = {name: round(value * flops / 1e9, 1) for name, value in per_cpu_s.items()}
    print(json.dumps({
        "benchmark": "training patches/s at 256x256, batch 4", "machine": setup, "preset": preset_name(args),
        "model": model_config.to_dict(), "precision": precision.describe(),
        "patches_per_s": {name: round(value, 2) for name, value in medians.items()},
        "patches_per_cpu_s": {name: round(value, 2) for name, value in per_cpu_s.items()},
        "gflops": gflops, "gflops_per_cpu_s": gflops_cpu,
        # wall GFLOP/s against the peak of the threads used; per CPU second against one core's peak
        "fraction_of_fp32_peak": {name: round(g / setup["fp32_peak_gflops"], 3) for name, g in
                                  gflops.items()} if setup["fp32_peak_gflops"] else None,
        "fraction_of_one_core_peak_per_cpu_s": {
            name: round(g * setup["threads"] / setup["fp32_peak_gflops"], 3) for name, g in
            gflops_cpu.items()} if setup["fp32_peak_gflops"] else None,
        "gflop_per_patch_forward_backward": round(flops / 1e9, 2),
        "rounds": {name: [round(wall, 2) for wall, _ in values] for name, values in results.items()},
        "ours_vs_plain": {name: round(medians[name] / medians["plain_fp32_eager"], 2)
                          for name in ("ours_trainer", "ours_loop")},
        "ours_vs_plain_per_cpu_s": {name: round(per_cpu_s[name] / per_cpu_s["plain_fp32_eager"], 2)
                                    for name in ("ours_trainer", "ours_loop")},
    }, indent=2))


if __name__ == "__main__":
    main()
