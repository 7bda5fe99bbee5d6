"""Live training curves: smoothed step loss and per-epoch validation loss, validation Dice, learning rate
(three small plots on one step axis).

`TrainingCurves` only records numbers (cheap, per event); the plots copy them into their curves when
`refresh()` is called, which the training panel does from a ~100 ms timer, never per step.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

from unet_studio.training.events import EpochEnded, StepEnded

EMA_ALPHA = 0.1
LOSS_PLOT_HEIGHT = 180  # px the loss chart asks for; it grows with the dock
TRAIN_PEN = pg.mkPen((80, 160, 255), width=2)
RAW_PEN = pg.mkPen((80, 160, 255, 60), width=1)
VAL_PEN = pg.mkPen((255, 150, 40), width=2)
DICE_PEN = pg.mkPen((90, 200, 90), width=2)
LR_PEN = pg.mkPen((200, 120, 220), width=1)


class TrainingCurves:
    """The numbers behind the curves: x is the optimiser step for every series."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.steps: list[int] = []
        self.raw_loss: list[float] = []
        self.smooth_loss: list[float] = []
        self.lr: list[float] = []
        self.epoch_steps: list[int] = []
        self.val_loss: list[float] = []
        self.dice: list[float] = []
        self.version = 0
        self._ema = 0.0
        self._ema_weight = 0.0

    def add_step(self, event: StepEnded) -> None:
        """Record one step; the smoothed loss is a bias-corrected exponential moving average."""
        loss = float(event.loss)
        if math.isfinite(loss):
            self._ema = (1 - EMA_ALPHA) * self._ema + EMA_ALPHA * loss
            self._ema_weight = (1 - EMA_ALPHA) * self._ema_weight + EMA_ALPHA
        self.steps.append(int(event.step))
        self.raw_loss.append(loss)
        self.smooth_loss.append(self._ema / self._ema_weight if self._ema_weight else math.nan)
        self.lr.append(float(event.lr))
        self.version += 1

    def add_epoch(self, event: EpochEnded) -> None:
        """Record an epoch end at the last step seen; missing validation values are NaN (gaps)."""
        self.epoch_steps.append(self.steps[-1] if self.steps else 0)
        self.val_loss.append(math.nan if event.val_loss is None else float(event.val_loss))
        dice = event.val_metrics.get("mean_dice")
        self.dice.append(math.nan if dice is None else float(dice))
        self.version += 1


class _CurvePlot(pg.PlotWidget):
    """A plot of `TrainingCurves` on the step axis that redraws only when the numbers changed; each subclass
    draws in `_draw(curves)`."""

    def __init__(self, curves: TrainingCurves, name: str, left: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.curves = curves
        self._drawn = -1
        self.item = self.getPlotItem()
        self.item.setLabel("bottom", "step")
        self.item.setLabel("left", left)

    def refresh(self) -> bool:
        """Copy new numbers into the curves; False when nothing changed since the last call."""
        if self.curves.version == self._drawn:
            return False
        self._drawn = self.curves.version
        self._draw(self.curves)  # each plot below says what it draws
        return True


class LossPlot(_CurvePlot):
    """Training loss per step (raw, faint, and smoothed) and validation loss per epoch."""

    def sizeHint(self) -> QSize:
        """Modest, so the training panel fits a dock at 1400 x 900 (pyqtgraph asks for 480 px; the panel's
        scroll area then made the whole panel that tall and pushed the chart out of view)."""
        return QSize(300, LOSS_PLOT_HEIGHT)

    def __init__(self, curves: TrainingCurves, parent: QWidget | None = None):
        super().__init__(curves, "lossPlot", "loss", parent)
        self.item.showGrid(x=True, y=True, alpha=0.2)
        self.item.addLegend(offset=(-10, 10))
        self.raw_curve = self.item.plot(pen=RAW_PEN)
        self.train_curve = self.item.plot(pen=TRAIN_PEN, name="train loss (smoothed)")
        self.val_curve = self.item.plot(pen=VAL_PEN, symbol="o", symbolSize=5, symbolBrush=VAL_PEN.color(),
                                        name="val loss")

    def _draw(self, c: TrainingCurves) -> None:
        steps = np.asarray(c.steps, float)
        self.raw_curve.setData(steps, np.asarray(c.raw_loss, float))
        self.train_curve.setData(steps, np.asarray(c.smooth_loss, float), connect="finite")
        self.val_curve.setData(np.asarray(c.epoch_steps, float), np.asarray(c.val_loss, float), connect="finite")


class DicePlot(_CurvePlot):
    """Mean validation Dice (0..1) per epoch, on the same step axis as the loss."""

    def __init__(self, curves: TrainingCurves, parent: QWidget | None = None):
        super().__init__(curves, "dicePlot", "val Dice", parent)
        self.item.setYRange(0, 1)
        self.item.showGrid(x=True, y=True, alpha=0.2)
        self.dice_curve = self.item.plot(pen=DICE_PEN, symbol="s", symbolSize=5, symbolBrush=DICE_PEN.color())

    def _draw(self, c: TrainingCurves) -> None:
        self.dice_curve.setData(np.asarray(c.epoch_steps, float), np.asarray(c.dice, float), connect="finite")


class LearningRatePlot(_CurvePlot):
    """The learning rate schedule as it runs (warm-up, then cosine decay)."""

    def __init__(self, curves: TrainingCurves, parent: QWidget | None = None):
        super().__init__(curves, "lrPlot", "learning rate", parent)
        self.lr_curve = self.item.plot(pen=LR_PEN)

    def _draw(self, c: TrainingCurves) -> None:
        self.lr_curve.setData(np.asarray(c.steps, float), np.asarray(c.lr, float))
