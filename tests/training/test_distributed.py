"""DDP training on the CPU: 2 gloo processes agree on gradients and on when to stop; rank 0 writes the one
checkpoint, in the usual format; `torchrun ... -m unet_studio train` runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.cli.helpers import ROOT, TINY_TRAIN, cli_env, write_pairs
from tests.training.helpers import CLASSES, TINY_MODEL, blob_items, tiny_config
from unet_studio.inference.predictor import Predictor
from unet_studio.models.checkpoint import load_checkpoint
from unet_studio.runtime import cache, memory_layout
from unet_studio.runtime import precision as policy
from unet_studio.training.distributed import (SINGLE, DistributedRun, backend_for, current, launched_by_torchrun,
                                              leave_process_group)
from unet_studio.training.events import StepEnded, TrainingFinished
from unet_studio.training.trainer import Trainer

STOP_AFTER = 3  # rank 1 asks to stop after this step


def _flat_gradients(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.detach().flatten() for p in model.parameters() if p.grad is not None])


def _gathered(tensor: torch.Tensor) -> list[torch.Tensor]:
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor)
    return parts


def _rank_main(rank: int, folder: str) -> None:
    """One rank: train with a stop from rank 1 after STOP_AFTER steps; write what it saw as JSON. In float32,
    each rank's own layout probe says otherwise (rank 0: channels_last faster, rank 1: contiguous)."""
    torch.set_num_threads(1)
    os.environ[cache.CACHE_ENV] = f"{folder}/cache-{rank}"
    policy._cpu_bf16_supported = lambda: False
    seconds = {"channels_last": 0.1, "contiguous": 0.2} if rank == 0 else {"channels_last": 0.2, "contiguous": 0.1}
    memory_layout.measure_layouts = lambda device, network, shape: dict(seconds)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=2)
    try:
        trainer = Trainer(TINY_MODEL, tiny_config(max_steps=20, epochs=None, steps_per_epoch=2), blob_items(3),
                          blob_items(1, seed=7), CLASSES, Path(folder) / f"model-{rank}.pt")
        stop, report = threading.Event(), {"rank": rank, "steps": []}
        for event in trainer.iter_fit(stop):
            if isinstance(event, StepEnded):
                report["steps"].append(event.step)
                if event.step == 1:
                    gradients = _gathered(_flat_gradients(trainer.model))
                    report["gradients_equal"] = bool(torch.equal(gradients[0], gradients[1]))
                    stream = torch.tensor([float(trainer.source.rng.random())])
                    report["patch_streams_differ"] = bool(not torch.equal(*_gathered(stream)))
                if rank == 1 and event.step == STOP_AFTER:
                    stop.set()
            if isinstance(event, TrainingFinished):
                report.update(path=str(event.checkpoint_path) if event.checkpoint_path else None,
                              interrupted=event.interrupted, reason=event.reason)
        weights = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        report["weights_equal"] = bool(torch.equal(*_gathered(weights)))
        report["run"] = [trainer.dist.rank, trainer.dist.world_size]
        report["layout"] = trainer.layout_choice.name
        Path(folder, f"rank-{rank}.json").write_text(json.dumps(report))
        del trainer  # as in the CLI, the trainer (its DDP reducer holds the process group) goes first
    finally:
        leave_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_share_gradients_stop_together_train_in_one_layout_and_rank_0_saves(tmp_path):
    mp.start_processes(_rank_main, args=(str(tmp_path),), nprocs=2, join=True, start_method="spawn")
    reports = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    for report in reports:
        assert report["steps"] == list(range(1, STOP_AFTER + 1)), report  # the stop on rank 1 stopped rank 0 too
        assert report["interrupted"] and report["gradients_equal"] and report["weights_equal"], report
        assert report["patch_streams_differ"], report
    assert [r["run"] for r in reports] == [[0, 2], [1, 2]]
    assert [r["layout"] for r in reports] == ["channels_last", "channels_last"]  # rank 0's measurement
    assert reports[1]["path"] is None and not (tmp_path / "model-1.pt").exists()  # rank 0 only writes
    checkpoint = load_checkpoint(reports[0]["path"])
    assert checkpoint.interrupted and not any(key.startswith("module.") for key in checkpoint.state_dict)
    predictor = Predictor.from_checkpoint(reports[0]["path"], device="cpu")
    assert predictor.predict(blob_items(1)[0].image[0]).mask.shape == (48, 48)


def test_one_process_is_a_run_of_one():
    assert current() == SINGLE and not SINGLE.active and SINGLE.is_main
    model = torch.nn.Conv2d(1, 1, 1)
    assert SINGLE.wrap(model, torch.device("cpu")) is model and SINGLE.rank_seed(5) == 5
    assert SINGLE.from_main(0.25) == 0.25 and SINGLE.from_main(1.0, 0.0) == (1.0, 0.0) and SINGLE.mean(2.0) == 2.0
    assert SINGLE.agree_to_end(False, "reached 4 steps") == (False, "reached 4 steps")


def test_each_rank_samples_its_own_deterministic_patches():
    seeds = [DistributedRun(rank, 4).rank_seed(0) for rank in range(4)]
    assert len(set(seeds)) == 4 and seeds == [DistributedRun(rank, 4).rank_seed(0) for rank in range(4)]
    assert DistributedRun(1, 4).rank_seed(1) != seeds[1]


def test_torchrun_variables_and_backends():
    assert not launched_by_torchrun({})
    assert not launched_by_torchrun({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"})
    assert launched_by_torchrun({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert backend_for("cpu") == "gloo" and backend_for("cuda") == "nccl"


@pytest.mark.slow
def test_torchrun_trains_with_two_processes_and_writes_one_checkpoint(tmp_path):
    images, masks = write_pairs(tmp_path, count=4)
    out = tmp_path / "models" / "model.pt"
    out.parent.mkdir()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "unet_studio", "train", "--images", images, "--labels", masks, "--labels-format", "mask",
               "--out", out, "--max-steps", "4", "--steps-per-epoch", "2", *TINY_TRAIN]
    env = {**cli_env(), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, env=env, timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.pt"], result.stderr[-3000:]
    assert result.stderr.count("finished: reached 4 steps") == 1, result.stderr[-3000:]  # rank 0 alone prints
    checkpoint = load_checkpoint(out)
    assert checkpoint.history["steps"][-1] == 4 and not checkpoint.interrupted
    Predictor.from_checkpoint(out, device="cpu")
