"""What torch.compile would give the training step: eager against compiled, side by side in one process. JSON.

    python benchmarks/compile_speed.py [--cpu native|no-bf16|avx2] [--rounds 20] [--threads 2] [--cold]
                                       [--preset balanced] [--model JSON]

Two copies of the default model (same weights, the layout the Trainer takes in fp32 on most CPUs,
channels_last) train on one 4 x 256 x 256 batch with AdamW, steps alternating between them (order reversed
every other round). It prints each one's first step (the compiled one's is the compile: from inductor's
on-disk cache when an earlier run filled it, from scratch with ``--cold``, which empties that cache first),
the median patches/s, and the eager/compiled time ratio of every round, sorted. The Trainer does not
compile: the figures say whether it should (README, Measured).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_choice import add_model_options, chosen_model  # noqa: E402
from speed_machine import CPU_MODES, apply_cpu_mode, machine, reexec_for_cpu_mode  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=CPU_MODES, default="native")
    add_model_options(parser)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="empty inductor's cache first: compile from scratch")
    args = parser.parse_args()
    reexec_for_cpu_mode()
    apply_cpu_mode(args.cpu)
    import torch
    import torch.nn.functional as F
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    from unet_studio.models.registry import build_model

    if args.cold:
        shutil.rmtree(cache_dir(), ignore_errors=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layout = torch.channels_last
    base = build_model(chosen_model(args)).to(memory_format=layout).train()
    runs = {}
    for name in ("eager", "compiled"):
        network = copy.deepcopy(base)
        runs[name] = (torch.compile(network) if name == "compiled" else network,
                      torch.optim.AdamW(network.parameters(), lr=1e-3))
    images = torch.randn(4, base.config.in_channels, 256, 256).contiguous(memory_format=layout)
    target = torch.randint(0, base.config.num_classes, (4, 256, 256))

    def step(name: str) -> float:
        network, optimizer = runs[name]
        start = time.perf_counter()
        loss = F.cross_entropy(network(images), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    first = {name: round(step(name), 2) for name in runs}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for index in range(args.rounds):
        for name in ("eager", "compiled") if index % 2 == 0 else ("compiled", "eager"):
            seconds[name].append(step(name))
    print(json.dumps({
        "machine": machine(args.cpu), "cold": args.cold, "first_step_s": first,
        "patches_per_s": {name: round(4 / statistics.median(s), 2) for name, s in seconds.items()},
        "eager_over_compiled_each_round": sorted(round(a / b, 3) for a, b in zip(seconds["eager"], seconds["compiled"])),
    }, indent=2))


if __name__ == "__main__":
    main()
