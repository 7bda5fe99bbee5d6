"""Warm-up then cosine decay over a step or time budget."""

import pytest

from unet_studio.training.schedule import FINAL_FACTOR, WarmupCosine


def test_warmup_rises_linearly_then_cosine_reaches_the_floor():
    schedule = WarmupCosine(base_lr=1.0, warmup_steps=4, total_steps=100)
    assert [schedule.lr(s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert schedule.lr(50) == pytest.approx(FINAL_FACTOR + (1 - FINAL_FACTOR) * 0.5)
    assert schedule.lr(100) == pytest.approx(FINAL_FACTOR)
    rates = [schedule.lr(s) for s in range(4, 101)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_time_budget_drives_decay_when_steps_are_unbounded():
    schedule = WarmupCosine.for_budget(1.0, None, 10.0, steps_per_epoch=20)
    assert schedule.warmup_steps == 10
    assert schedule.lr(1000, elapsed_s=0.0) == pytest.approx(1.0)
    assert schedule.lr(1000, elapsed_s=10.0) == pytest.approx(FINAL_FACTOR)


def test_no_budget_keeps_the_base_rate():
    schedule = WarmupCosine.for_budget(0.5, None, None, steps_per_epoch=50)
    assert schedule.lr(10_000, 1e6) == pytest.approx(0.5)
