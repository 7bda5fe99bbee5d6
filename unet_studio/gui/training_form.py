"""The training settings form: architecture, size preset, loss, augmentation, budget and device.

`settings()` reads the widgets on top of `base_settings`, so settings the form does not show (model and
training overrides, e.g. a tiny model for tests and scripts) come from there.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from unet_studio.data.augment_config import PRESET_NAMES
from unet_studio.models.config import PRESETS
from unet_studio.training.config import LOSSES
from unet_studio.runtime.device import describe_devices, select_device
from unet_studio.gui.training_settings import TrainingSettings
from unet_studio.models.config import ARCH_TITLES

LOSS_TITLES = {"ce": "cross-entropy", "dice": "Dice", "ce+dice": "cross-entropy + Dice"}
LIMIT_TITLES = {"seconds": "time budget", "epochs": "epochs"}
DEVICE_TITLES = {"auto": "automatic", "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)", "cpu": "CPU"}


def _combo(name: str, items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for value, title in items.items():
        combo.addItem(title, value)
    return combo


def _select(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)


class TrainingForm(QWidget):
    """Widgets for a TrainingSettings; emits `settings_changed` on any edit."""

    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.base_settings = TrainingSettings()
        self.arch = _combo("archCombo", ARCH_TITLES)
        self.preset = _combo("presetCombo", {name: name for name in PRESETS})
        self.loss = _combo("lossCombo", {name: LOSS_TITLES.get(name, name) for name in LOSSES})
        self.augment = _combo("augmentCombo", {name: name for name in PRESET_NAMES})
        self.limit = _combo("limitCombo", LIMIT_TITLES)
        self.seconds = QSpinBox()
        self.seconds.setObjectName("trainSecondsSpin")
        self.seconds.setRange(1, 7 * 24 * 3600)
        self.seconds.setSuffix(" s")
        self.epochs = QSpinBox()
        self.epochs.setObjectName("trainEpochsSpin")
        self.epochs.setRange(1, 10000)
        self.device = _combo("deviceCombo", {})
        self.device_label = QLabel()
        self.device_label.setObjectName("deviceLabel")
        self.device_label.setWordWrap(True)
        self._fill_devices()
        budget = QHBoxLayout()
        budget.addWidget(self.limit)
        budget.addWidget(self.seconds)
        budget.addWidget(self.epochs)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Architecture", self.arch)
        form.addRow("Size", self.preset)
        form.addRow("Loss", self.loss)
        form.addRow("Augmentation", self.augment)
        form.addRow("Stop after", budget)
        form.addRow("Device", self.device)
        form.addRow(self.device_label)
        self.set_settings(self.base_settings)
        for combo in (self.arch, self.preset, self.loss, self.augment, self.limit, self.device):
            combo.currentIndexChanged.connect(self._on_widget_changed)
        for spin in (self.seconds, self.epochs):
            spin.valueChanged.connect(self._on_widget_changed)

    def _fill_devices(self) -> None:
        """Every device kind; unusable ones are listed disabled with the reason as tooltip."""
        auto = select_device("auto")
        model = self.device.model()
        for name in ("auto", "cuda", "mps", "cpu"):
            note = auto.notes.get(name)
            title = DEVICE_TITLES[name] + (f" ({auto.device.type})" if name == "auto" else "")
            self.device.addItem(title if note is None else f"{title}: unavailable", name)
            row = self.device.count() - 1
            self.device.setItemData(row, note or title, Qt.ItemDataRole.ToolTipRole)
            if note is not None:
                model.item(row).setEnabled(False)
        self.device_label.setText(f"Using {auto.device.type}: {auto.reason}")
        self.device_label.setToolTip("\n".join(describe_devices()))

    def set_settings(self, settings: TrainingSettings) -> None:
        """Show `settings` (and keep them as the base for what the form does not show)."""
        self.base_settings = settings
        blocked = [w.blockSignals(True) for w in self._widgets()]
        _select(self.arch, settings.arch)
        _select(self.preset, settings.preset)
        _select(self.loss, settings.loss)
        _select(self.augment, settings.augment)
        _select(self.limit, settings.limit)
        _select(self.device, settings.device)
        self.seconds.setValue(settings.seconds)
        self.epochs.setValue(settings.epochs)
        for widget, was in zip(self._widgets(), blocked):
            widget.blockSignals(was)
        self._show_budget()

    def settings(self) -> TrainingSettings:
        return replace(self.base_settings, arch=self.arch.currentData(), preset=self.preset.currentData(),
                       loss=self.loss.currentData(), augment=self.augment.currentData(),
                       limit=self.limit.currentData(), seconds=self.seconds.value(), epochs=self.epochs.value(),
                       device=self.device.currentData())

    def _widgets(self) -> list[QWidget]:
        return [self.arch, self.preset, self.loss, self.augment, self.limit, self.device, self.seconds, self.epochs]

    def _show_budget(self) -> None:
        by_time = self.limit.currentData() == "seconds"
        self.seconds.setVisible(by_time)
        self.epochs.setVisible(not by_time)

    def _on_widget_changed(self, *_args) -> None:
        self._show_budget()
        self.settings_changed.emit()
