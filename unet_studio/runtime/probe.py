"""What the runtime's speed probes share (precision.py, memory_layout.py): one torch thread, timed rounds that
alternate between the candidates, and a cache of the answers per machine and torch build."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

import torch

from unet_studio.runtime.cache import read_cache, write_cache
from unet_studio.runtime.cpu import read_cpu_info

MIN_ROUNDS, MAX_ROUNDS = 2, 12  # timed rounds (after the caller's warm-up)


@contextmanager
def one_thread() -> Iterator[None]:
    """One torch thread inside: relative speed per core, far less hurt by a busy machine's scheduling."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def alternating_rounds(passes: Mapping[str, Callable[[], float]], budget_s: float, since: float) -> dict[str, float]:
    """Median seconds of each pass (a callable returning its own seconds), run in turn round after round, so load
    on a shared machine hurts all alike; at least MIN_ROUNDS rounds, then until ``budget_s`` has passed since
    ``since`` (a perf_counter time), at most MAX_ROUNDS."""
    times: dict[str, list[float]] = {name: [] for name in passes}
    for round_index in range(MAX_ROUNDS):
        for name, run in passes.items():
            times[name].append(run())
        if round_index + 1 >= MIN_ROUNDS and time.perf_counter() - since > budget_s:
            break
    return {name: statistics.median(values) for name, values in times.items()}


def probe_key(device: torch.device) -> str:
    """What a probe's answer depends on: the chip and the torch build (the probes run on one thread)."""
    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    else:
        cpu = read_cpu_info()
        chip = f"{cpu.model} [{cpu.torch_capability}]"
    return f"{device.type}: {chip} | torch {torch.__version__}"


def cached_seconds(cache_file: str, key: str, names: Sequence[str],
                   measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Seconds per name under ``key`` in ``cache_file``, or ``measure()``'s, stored there for the next time."""
    cache = read_cache(cache_file)
    entry = cache.get(key, {}).get("seconds_per_step", {})
    if isinstance(entry, dict) and all(name in entry for name in names):
        return {name: float(entry[name]) for name in names}
    seconds = measure()
    cache[key] = {"seconds_per_step": seconds, "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_cache(cache_file, cache)
    return seconds
