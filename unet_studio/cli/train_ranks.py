"""`train` under torchrun: rank 0 prints and owns the model file; the other ranks train in silence.

Rank 0 takes the usual ModelDestination (lock, refusal of an existing --out, the move onto --out at the
end). The others get a `PeerDestination`: no lock, nothing written (their Trainer saves nothing), events
passed through. Their follower prints nothing but still turns Ctrl+C / SIGTERM into the stop event, which the
Trainer shares with every rank (training/distributed.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from unet_studio.cli.training_progress import SignalStop, TrainingFollower
from unet_studio.training.api import SKIPPED
from unet_studio.training.config import TrainConfig
from unet_studio.training.destination import ModelDestination
from unet_studio.training.distributed import DistributedRun
from unet_studio.training.events import Log, TrainingEvent, TrainingFinished


class PeerDestination:
    """A rank other than 0: its run's checkpoint path is a name nothing writes; the model is rank 0's."""

    def __init__(self, target: Path, rank: int):
        self.target = Path(target)
        self.working_path = self.target.with_name(f"{self.target.stem}.rank-{rank}{self.target.suffix or '.pt'}")

    def __enter__(self) -> PeerDestination:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def publish(self, events: Iterator[TrainingEvent]) -> Iterator[TrainingEvent]:
        return events

    def leftover(self) -> None:
        return None


class QuietFollower(TrainingFollower):
    """Follows a peer rank's events without printing; keeps the finish, the skipped count and any signal."""

    def follow(self, events) -> TrainingFinished | None:
        with SignalStop(self.stop) as signals:
            for event in events:
                if isinstance(event, TrainingFinished):
                    self.finished = event
                elif isinstance(event, Log):
                    self.skipped += event.message.startswith(SKIPPED)
            self.signal = signals.received
        return self.finished


def destination_for(ranks: DistributedRun, target: Path, overwrite: bool) -> ModelDestination | PeerDestination:
    return ModelDestination(target, overwrite=overwrite) if ranks.is_main else PeerDestination(target, ranks.rank)


def follower_for(ranks: DistributedRun, kind: type[TrainingFollower], train_config: TrainConfig,
                 stop: threading.Event) -> TrainingFollower:
    return kind(train_config, stop) if ranks.is_main else QuietFollower(train_config, stop)
