"""DDP on the CPU: `torchrun --nproc-per-node 2 -m unet_studio train` (2 gloo processes, one torch thread each)
next to the same command in one process, the same steps; JSON.

    python benchmarks/ddp_cpu.py [--steps 60] [--images 8] [--size 128] [--preset fast] [--baseline-threads 1]

The one-process baseline runs on `--baseline-threads` torch threads (default 1, what each DDP process has:
on a shared machine two OpenMP threads spin-waiting for a busy core were several times slower, so two threads
would flatter DDP).

Both runs train on the same synthetic blob images (masks; a quarter held out for validation) with the same
settings. For each: wall seconds (process start included), training seconds (the checkpoint history's, from
the Trainer's start to the last epoch's end, validation included), patches trained (the DDP run sees 2 x
batch per step), patches/s of both, the training loss of the first and last epoch (DDP: the mean over both
ranks), validation Dice, the files left in the output folder (one checkpoint, nothing else), and whether the
checkpoint loads and predicts through the Predictor and through the GUI's path (training.api.register_model
into a project, then inference.model_files.load_predictor of the project's model, as the prediction worker
does).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_machine import machine  # noqa: E402

from unet_studio.core.project import Project  # noqa: E402
from unet_studio.inference.model_files import load_predictor  # noqa: E402
from unet_studio.inference.predictor import Predictor  # noqa: E402
from unet_studio.models.checkpoint import load_checkpoint  # noqa: E402
from unet_studio.training.api import register_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def make_pairs(folder: Path, count: int, size: int) -> tuple[Path, Path]:
    images, masks = folder / "images", folder / "masks"
    images.mkdir()
    masks.mkdir()
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        rng = np.random.default_rng(i)
        mask = np.zeros((size, size), np.uint8)
        for _ in range(size // 10):
            cy, cx = rng.integers(8, size - 8, 2)
            mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= rng.integers(4, 9) ** 2] = 1
        image = np.clip(0.25 + 0.5 * mask + 0.12 * rng.standard_normal((size, size)), 0, 1)
        cv2.imwrite(str(images / f"cell_{i}.png"), (image * 255).astype(np.uint8))
        cv2.imwrite(str(masks / f"cell_{i}.png"), mask)
    return images, masks


def train(command_prefix: list[str], args, images: Path, masks: Path, out: Path, threads: int) -> dict:
    out.parent.mkdir()
    command = [*command_prefix, "train", "--images", images, "--labels", masks, "--labels-format", "mask",
               "--out", out, "--max-steps", args.steps, "--steps-per-epoch", args.steps_per_epoch,
               "--preset", args.preset, "--batch-size", args.batch_size, "--patch-size", args.patch_size,
               "--device", "cpu", "--augment", "none", "--no-amp"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(list(map(str, command)), capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    result = {"returncode": done.returncode, "seconds": seconds, "files": sorted(p.name for p in out.parent.iterdir())}
    if done.returncode != 0:
        return {**result, "stderr_tail": done.stderr[-2000:]}
    history = load_checkpoint(out).history
    return {**result, "epochs": len(history["train_loss"]), "train_loss_first_epoch": history["train_loss"][0],
            "train_loss_last_epoch": history["train_loss"][-1], "val_dice_last_epoch": history["val_dice"][-1],
            "train_seconds": history["seconds"][-1], "finished_lines": done.stderr.count("finished:")}


def loads_everywhere(model: Path, folder: Path, images: Path) -> dict:
    """Predictor.from_checkpoint, and the GUI's way: register into a project, load_predictor from there."""
    pixels = cv2.imread(str(sorted(images.iterdir())[0]), cv2.IMREAD_UNCHANGED)
    mask = Predictor.from_checkpoint(model, device="cpu").predict(pixels).mask
    project = Project.create(folder / "project", image_paths=sorted(images.iterdir()))
    registered = register_model(project, model, "ddp model")
    reopened = Project.open(project.folder)
    gui_mask = load_predictor(reopened.model_path(reopened.active_model), device="cpu").predict(pixels).mask
    return {"predictor_loads": True, "gui_path_loads": registered.is_file(),
            "same_mask_both_ways": bool((mask == gui_mask).all()), "object_fraction": float(mask.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--steps-per-epoch", type=int, default=10)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--baseline-threads", type=int, default=1)
    args = parser.parse_args()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ddp-bench-") as tmp:
        folder = Path(tmp)
        images, masks = make_pairs(folder, args.images, args.size)
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                    "-m", "unet_studio"]
        ddp = train(torchrun, args, images, masks, folder / "ddp" / "model.pt", threads=1)
        single = train([sys.executable, "-m", "unet_studio"], args, images, masks, folder / "one" / "model.pt",
                       threads=args.baseline_threads)
        for run, ranks in ((ddp, 2), (single, 1)):
            if run["returncode"] == 0:
                run["patches"] = args.steps * args.batch_size * ranks
                run["patches_per_s"] = run["patches"] / run["seconds"]
                run["patches_per_train_s"] = run["patches"] / run["train_seconds"]
        loads = loads_everywhere(folder / "ddp" / "model.pt", folder, images) if ddp["returncode"] == 0 else {}
        print(json.dumps({
            "benchmark": "ddp_cpu", "steps": args.steps, "batch_size_per_rank": args.batch_size,
            "patch_size": args.patch_size, "preset": args.preset, "images": args.images, "size": args.size,
            "ddp_2_gloo_processes_1_thread_each": ddp, f"one_process_{args.baseline_threads}_threads": single,
            "ddp_loss_fell": ddp.get("train_loss_last_epoch", 1e9) < ddp.get("train_loss_first_epoch", 0),
            "ddp_one_checkpoint": ddp["files"] == ["model.pt"], "ddp_checkpoint_loads": loads,
            "patches_per_s_ddp_vs_one_process": (ddp.get("patches_per_s", 0) / single["patches_per_s"]
                                                 if single.get("patches_per_s") else None),
            "patches_per_train_s_ddp_vs_one_process": (ddp.get("patches_per_train_s", 0) / single["patches_per_train_s"]
                                                       if single.get("patches_per_train_s") else None),
            "load_average_at_start": load_at_start, "machine": machine("native"),
        }, indent=1))


if __name__ == "__main__":
    main()
