"""Contrast panel: auto (percentile) / min-max / manual range, gamma, channel choice and plane slider."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QWidget
from superqt import QLabeledSlider

from unet_studio.gui.display import DisplaySettings

MODE_LABELS = {"auto": "Auto (0.5-99.5 %)", "minmax": "Min / max", "manual": "Manual"}


class ContrastPanel(QWidget):
    """Edits a DisplaySettings; emits `settings_changed(DisplaySettings)` and `plane_changed(int)`."""

    settings_changed = Signal(object)
    plane_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.mode = QComboBox()
        for key, label in MODE_LABELS.items():
            self.mode.addItem(label, key)
        self.low = _spin()
        self.high = _spin()
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.1, 5.0)
        self.gamma.setSingleStep(0.1)
        self.gamma.setValue(1.0)
        self.channel = QComboBox()
        self.plane = QLabeledSlider(Qt.Orientation.Horizontal)
        self.plane.setObjectName("planeSlider")
        self.plane.setRange(0, 0)
        self.form = form = QFormLayout(self)
        form.addRow("Contrast", self.mode)
        form.addRow("Low", self.low)
        form.addRow("High", self.high)
        form.addRow("Gamma", self.gamma)
        form.addRow("Channel", self.channel)
        form.addRow("Plane", self.plane)
        self.set_image_layout(1, 1)
        for signal in (self.mode.currentIndexChanged, self.channel.currentIndexChanged):
            signal.connect(self._on_control_changed)
        for spin in (self.low, self.high, self.gamma):
            spin.valueChanged.connect(self._on_control_changed)
        self.plane.valueChanged.connect(self.plane_changed)

    def settings(self) -> DisplaySettings:
        """The settings the controls show."""
        mode = self.mode.currentData()
        return DisplaySettings(
            mode=mode,
            gamma=self.gamma.value(),
            channel=self.channel.currentData(),
            manual_range=(self.low.value(), self.high.value()) if mode == "manual" else None,
        )

    def set_image_layout(self, n_channels: int, n_planes: int, plane: int = 0) -> None:
        """Offer the channels and planes of a new image without emitting changes."""
        blockers = [self.channel.blockSignals(True), self.plane.blockSignals(True)]
        previous = self.channel.currentData()
        self.channel.clear()
        self.channel.addItem("RGB" if n_channels == 3 else "Composite", None)
        for c in range(n_channels if n_channels > 1 else 0):
            self.channel.addItem(f"Channel {c + 1}", c)
        index = self.channel.findData(previous)
        self.channel.setCurrentIndex(max(index, 0))
        self.plane.setRange(0, max(0, n_planes - 1))
        self.plane.setValue(plane)
        self.form.setRowVisible(self.plane, n_planes > 1)
        self.channel.setEnabled(n_channels > 1)
        self.channel.blockSignals(blockers[0])
        self.plane.blockSignals(blockers[1])

    def set_range_hint(self, lo: float, hi: float) -> None:
        """Show the automatic range in the manual fields (a starting point for manual contrast)."""
        if self.mode.currentData() != "manual":
            for spin, value in ((self.low, lo), (self.high, hi)):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _on_control_changed(self, *_args) -> None:
        manual = self.mode.currentData() == "manual"
        self.low.setEnabled(manual)
        self.high.setEnabled(manual)
        self.settings_changed.emit(self.settings())


def _spin() -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(-1e12, 1e12)
    spin.setDecimals(3)
    spin.setEnabled(False)
    return spin
