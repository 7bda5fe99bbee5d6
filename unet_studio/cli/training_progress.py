"""Following a training run on the terminal: progress lines, and Ctrl+C / SIGTERM as a request to stop.

A signal only sets the Trainer's stop event (checked between batches), so the run ends through its own
path: the best checkpoint so far (or, before any epoch ended, the current weights) is saved marked
interrupted, and the last line says what was saved. A second signal stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import signal
import threading

from unet_studio.cli.output import ProgressLine, bar, duration, info
from unet_studio.training.api import SKIPPED
from unet_studio.training.config import TrainConfig
from unet_studio.training.events import EpochEnded, Log, StepEnded, TrainingFinished

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop:
    """While active (main thread only), SIGINT and SIGTERM set `stop`; `received` is the first signal."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalStop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum
        self.stop.set()


class TrainingFollower:
    """Prints a stream of training events; remembers the finish, the input files skipped and any signal."""

    def __init__(self, train_config: TrainConfig, stop: threading.Event):
        self.train_config, self.stop = train_config, stop
        self.progress = ProgressLine()
        self.finished: TrainingFinished | None = None
        self.skipped = 0
        self.steps = 0
        self.signal: int | None = None

    def follow(self, events) -> TrainingFinished | None:
        with SignalStop(self.stop) as signals:
            try:
                for event in events:
                    if signals.received is not None and self.signal is None:
                        self.signal = signals.received
                        self.progress.finish()
                        info(f"stopping ({signal.Signals(self.signal).name}): saving the best checkpoint so far...")
                    self._show(event)
            finally:
                self.progress.finish()
            self.signal = signals.received
        return self.finished

    def _show(self, event) -> None:
        if isinstance(event, Log):
            self.progress.finish()
            info(event.message)
            self.skipped += event.message.startswith(SKIPPED)
        elif isinstance(event, StepEnded):
            self.steps = event.step
            fraction, eta = _fraction(event, self.train_config)
            self.progress.update(f"train {bar(fraction)} step {event.step} loss {event.loss:.4f} "
                                 f"{event.patches_per_s:.1f} patches/s {duration(event.elapsed_s)}"
                                 + (f" ETA {duration(eta)}" if eta is not None else ""))
        elif isinstance(event, EpochEnded):
            self.progress.finish()
            dice = event.val_metrics.get("mean_dice")
            val = f" val loss {event.val_loss:.4f}" if event.val_loss is not None else ""
            val += f" val Dice {dice:.3f}" if dice is not None else ""
            info(f"epoch {event.epoch}: train loss {event.train_loss:.4f}{val} lr {event.lr:.2e}"
                 f"{'  (best so far)' if event.best else ''}")
        elif isinstance(event, TrainingFinished):
            self.progress.finish()
            self.finished = event
            info(self._final_line(event))

    def _final_line(self, event: TrainingFinished) -> str:
        """What the run ended with, and what was saved where."""
        if event.checkpoint_path is None:
            return f"finished: {event.reason}; nothing saved"
        if not event.interrupted:
            return f"finished: {event.reason}; model: {event.checkpoint_path}"
        best = event.history.get("best_epoch")
        saved = (f"the best checkpoint so far (epoch {best})" if best is not None
                 else f"the current weights (step {self.steps}, before any epoch ended)")
        why = f"by {signal.Signals(self.signal).name}" if self.signal is not None else f"({event.reason})"
        return f"stopped {why}: saved {saved} to {event.checkpoint_path}, marked interrupted"


def follow_training(events, train_config: TrainConfig, stop: threading.Event) -> TrainingFinished | None:
    """Print progress for a stream of training events; Ctrl+C or SIGTERM stops the run and keeps the
    checkpoint. Returns the TrainingFinished event (None if the stream ended without one)."""
    return TrainingFollower(train_config, stop).follow(events)


def _fraction(event: StepEnded, cfg: TrainConfig) -> tuple[float, float | None]:
    """Progress through the tightest limit, and the seconds left by it."""
    fraction = cfg.budget_used(event.step, event.elapsed_s)
    if fraction is None:
        return 0.0, None
    eta = event.elapsed_s * (1 - fraction) / fraction if fraction > 0 else None
    return fraction, eta
