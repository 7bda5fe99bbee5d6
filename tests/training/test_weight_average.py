"""RunningAverage (training/weight_average.py): a restartable moving average of weights and BN statistics."""

from __future__ import annotations

import torch
from torch import nn

from unet_studio.training.weight_average import MAX_DECAY, RunningAverage


def _set(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for tensor in list(model.parameters()) + [model[1].running_mean]:
            tensor.fill_(value)


def _model() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))


def test_it_starts_as_a_copy_that_training_does_not_move():
    model = _model()
    _set(model, 2.0)
    average = RunningAverage(model)
    _set(model, 5.0)  # the model moves on; the average waits for update()
    assert average.updates == 1
    assert torch.all(average.module[0].weight == 2.0) and torch.all(average.module[1].running_mean == 2.0)


def test_updates_follow_the_warm_up_decay_for_weights_and_batchnorm_statistics():
    model = _model()
    _set(model, 0.0)
    average = RunningAverage(model)
    _set(model, 1.0)
    average.update()  # one earlier update: decay (1 + 1) / (10 + 1)
    expected = 1.0 - 2.0 / 11.0
    torch.testing.assert_close(average.module[0].weight, torch.full_like(model[0].weight, expected))
    torch.testing.assert_close(average.module[1].running_mean, torch.full((2,), expected))
    for _ in range(2000):
        average.update()
    torch.testing.assert_close(average.module[0].bias, model[0].bias)  # converges to constant weights
    _set(model, 2.0)
    average.update()  # long after the start the decay is capped: one step moves it by 1 - MAX_DECAY
    torch.testing.assert_close(average.module[0].bias, torch.full((2,), 1.0 + (1.0 - MAX_DECAY)))


def test_the_average_smooths_noisy_weights_and_restart_forgets_them():
    torch.manual_seed(0)
    model = _model()
    average = RunningAverage(model)
    for _ in range(300):
        with torch.no_grad():
            model[0].weight.copy_(torch.randn_like(model[0].weight) * 0.1 + 1.0)
        average.update()
    assert torch.allclose(average.module[0].weight, torch.ones_like(model[0].weight), atol=0.05)
    _set(model, -3.0)
    kept = average.module
    average.restart()
    assert average.updates == 1 and torch.all(average.module[0].weight == -3.0)
    assert average.module is kept  # restarted in place, not copied again
