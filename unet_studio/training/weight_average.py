"""RunningAverage: an exponential moving average of a model's weights and BatchNorm statistics that can start
again from the current weights (torch.optim.swa_utils.AveragedModel with a warm-up decay).

The decay after n updates is min(MAX_DECAY, (1 + n) / (10 + n)): right after a (re)start the average follows
the latest weights closely, and it widens to about 1 / (1 - MAX_DECAY) = 100 steps as the run goes on.
Live training restarts it at each change of the labels (with the rate, training/live_trainer.py), so new
strokes show at once and the weights it hands over are smoothed over the steps since then.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

MAX_DECAY = 0.99


def _moving_average(averaged: torch.Tensor, current: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """The average after one more update (`count` updates so far: the first one copied the weights)."""
    decay = torch.clamp((1.0 + count.float()) / (10.0 + count.float()), max=MAX_DECAY)
    return averaged + (current - averaged) * (1.0 - decay).to(averaged.dtype)


class RunningAverage:
    """The running average of `model`'s weights (parameters and buffers) on the model's device."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.averaged = AveragedModel(model, avg_fn=_moving_average, use_buffers=True)  # one copy, kept
        self.restart()

    def restart(self) -> None:
        """Forget the history: the average starts again from the model's weights now (copied in place: live
        training restarts it at every label change, so no new copy of the model is made)."""
        self.averaged.n_averaged.zero_()
        self.averaged.update_parameters(self.model)  # with no updates counted, this copies the weights

    def update(self) -> None:
        """Fold the model's weights now into the average (after each optimiser step)."""
        self.averaged.update_parameters(self.model)

    @property
    def module(self) -> nn.Module:
        """A model of the same architecture holding the averaged weights."""
        return self.averaged.module

    @property
    def updates(self) -> int:
        """Updates since the last (re)start, the first copy included."""
        return int(self.averaged.n_averaged)
