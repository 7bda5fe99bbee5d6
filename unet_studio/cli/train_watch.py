"""`unet-studio train PROJECT --watch`: live training on a project folder while others label it.

The run is training.live_watch.iter_train_watched; cli/train.py parses, this module prints its live lines.
"""

from __future__ import annotations

from unet_studio.cli.output import duration, info
from unet_studio.cli.training_progress import TrainingFollower
from unet_studio.training.events import LabelsReloaded, ModelKept, StepEnded


class WatchFollower(TrainingFollower):
    """TrainingFollower with live lines: steps without a budget bar, one line per reload and per kept model."""

    def _show(self, event) -> None:
        if isinstance(event, StepEnded):
            self.steps = event.step
            self.progress.update(f"live step {event.step} loss {event.loss:.4f} {event.patches_per_s:.1f} patches/s "
                                 f"{duration(event.elapsed_s)}")
        elif isinstance(event, LabelsReloaded):
            self.progress.finish()
            names = ", ".join(event.changed[:5]) + (f" and {len(event.changed) - 5} more" if len(event.changed) > 5 else "")
            info(f"labels reloaded (version {event.version}) at step {event.step}: {event.train_images} training, "
                 f"{event.val_images} validation image(s); changed: {names}")
        elif isinstance(event, ModelKept):
            self.progress.finish()
            info(f"current model (step {event.step}) written to {event.path}")
        else:
            super()._show(event)
