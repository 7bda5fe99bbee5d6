"""Data-parallel training under torchrun: the few collective steps the Trainer takes with its peers.

`torchrun --nproc-per-node N -m unet_studio train ...` starts N copies of the command with RANK, WORLD_SIZE
and LOCAL_RANK set. `process_group(device)` (the CLI) joins them: gloo on the CPU, nccl on CUDA (one GPU per
process, cuda:LOCAL_RANK), and leaves at the end. The Trainer asks `current()` for a `DistributedRun`; without a
process group that is `SINGLE`, whose every method is a no-op, so one-process training is unchanged.

What each rank does: the same model (same seed; DDP also copies rank 0's weights at the start), its own
patches (`rank_seed`), gradients averaged by DistributedDataParallel, and every step the same learning rate
(rank 0's), the mean loss of all ranks (a NaN on one rank ends every rank) and one agreed answer to "stop
now?" (a stop or a limit on any rank stops all). Validation, checkpoints and the post-processing choice run on
rank 0 only; its epoch score is sent to the others so that early stopping ends every rank at the same epoch.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from unet_studio.core.errors import TrainingError

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
TIMEOUT = datetime.timedelta(minutes=60)  # rank 0 validating a large set keeps the others waiting this long at most
LIMIT_ELSEWHERE = "a limit was reached on another rank"


@dataclass(frozen=True)
class DistributedRun:
    """This process's place in the run: `rank` of `world_size` (0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: validates, saves checkpoints, prints."""
        return self.rank == 0

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """What the training step calls: `model` in DistributedDataParallel (gradients averaged across ranks),
        or `model` itself. Checkpoints and validation keep using the plain `model`."""
        if not self.active:
            return model
        ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def rank_seed(self, seed: int) -> int:
        """The patch sampler's seed on this rank: `seed` alone in one process, else one stream per rank."""
        if not self.active:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0])

    def from_main(self, *values: float) -> float | tuple[float, ...]:
        """Rank 0's `values` on every rank (one float, or a tuple for several)."""
        if not self.active:
            return values[0] if len(values) == 1 else values
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.broadcast(tensor, src=0)
        result = tuple(tensor.tolist())
        return result[0] if len(result) == 1 else result

    def mean(self, value: float) -> float:
        """The mean of `value` over the ranks (NaN anywhere gives NaN everywhere)."""
        if not self.active:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def agree_to_end(self, stopped: bool, limit: str | None) -> tuple[bool, str | None]:
        """(stop requested on any rank, why a limit ended the run on this or another rank): every rank gets
        the same answer at the same step, so none waits for a peer that has left."""
        if not self.active:
            return stopped, limit
        flags = torch.tensor([float(stopped), float(limit is not None)], dtype=torch.float64)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        any_stop, any_limit = bool(flags[0].item()), bool(flags[1].item())
        return any_stop, (limit or LIMIT_ELSEWHERE) if any_limit else None


SINGLE = DistributedRun()


def current() -> DistributedRun:
    """The run of the process group torch has joined (process_group), else SINGLE."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return DistributedRun(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def launched_by_torchrun(environ=os.environ) -> bool:
    """Whether torchrun (or an equivalent launcher) set this process's rank variables."""
    return all(key in environ for key in ENV_KEYS) and int(environ.get("WORLD_SIZE", 1)) > 1


def backend_for(device: str) -> str:
    """gloo on the CPU, nccl when training on CUDA ("auto" means CUDA when one is visible)."""
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    return "nccl" if cuda else "gloo"


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[DistributedRun]:
    """Join the torchrun process group for the block (env:// rendezvous: MASTER_ADDR, MASTER_PORT), or yield
    SINGLE when not launched by torchrun."""
    if not launched_by_torchrun():
        yield SINGLE
        return
    backend = backend_for(device)
    local_rank = int(os.environ["LOCAL_RANK"])
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise TrainingError("torchrun", f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPU(s) "
                                            "here: give --nproc-per-node at most the GPU count")
        torch.cuda.set_device(local_rank)
    try:
        dist.init_process_group(backend, timeout=TIMEOUT)
    except (RuntimeError, ValueError) as error:
        reason = (str(error).splitlines() or ["no reason given"])[0]
        raise TrainingError("torchrun", f"cannot join the process group ({backend}): {reason}") from error
    try:
        yield current()
    finally:
        leave_process_group()


def leave_process_group() -> None:
    """Destroy the process group so that its gloo worker threads are joined while Python is still alive.

    DistributedDataParallel's reducer (often in a reference cycle) keeps the group alive past
    destroy_process_group; a gloo worker thread could then free the last all-reduce's tensors while the
    interpreter was shutting down, and that thread's wait for the GIL aborted the process ("terminate called
    without an active exception", about 1 run in 4 on 2 cores). Collecting first frees the reducer; collecting
    after frees the group, whose destructor joins its threads."""
    gc.collect()
    dist.destroy_process_group()
    gc.collect()
