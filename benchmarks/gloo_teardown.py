"""How often two gloo ranks abort at exit after a DDP step: a bare destroy_process_group vs leave_process_group.

Each trial spawns 2 CPU ranks that take 3 DDP steps and an all-reduce, then leave the group either way. A bare
`destroy_process_group` can leave the group alive in DDP's reducer; a gloo worker thread then frees the last
all-reduce's tensors during interpreter shutdown and the rank dies with SIGABRT ("terminate called without an
active exception"). `training/distributed.leave_process_group` collects garbage around the destroy, so the
threads are joined first. Prints one JSON line: the aborts out of `--trials` for each way.

Usage: python benchmarks/gloo_teardown.py [--trials 40]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import machine  # noqa: E402

from unet_studio.training.distributed import leave_process_group  # noqa: E402


def _rank(rank: int, folder: str, way: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3),
                                                                          torch.nn.Conv2d(8, 1, 3)))
    for _ in range(3):
        model(torch.randn(2, 1, 32, 32)).sum().backward()
        dist.all_reduce(torch.ones(1))
    if way == "leave_process_group":
        del model
        leave_process_group()
    else:
        dist.destroy_process_group()


def aborts(way: str, trials: int) -> int:
    failed = 0
    for _ in range(trials):
        with tempfile.TemporaryDirectory() as folder:
            try:
                mp.start_processes(_rank, args=(folder, way), nprocs=2, join=True, start_method="spawn")
            except mp.ProcessExitedException:
                failed += 1
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    result = {way: aborts(way, args.trials) for way in ("destroy_process_group", "leave_process_group")}
    print(json.dumps({"benchmark": "gloo teardown", "trials": args.trials, "aborted": result,
                      "machine": machine("native")}))


if __name__ == "__main__":
    main()
