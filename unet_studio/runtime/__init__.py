"""runtime layer (see docs/ARCHITECTURE.md): where and in which precision networks run. Sits beside models and
data, below training and inference, so both ask one policy: device choice, the precision policy, CPU facts."""

from unet_studio.runtime.device import DeviceChoice, describe_devices, select_device
from unet_studio.runtime.precision import Precision, choose_precision, hardware_support

__all__ = ["DeviceChoice", "describe_devices", "select_device", "Precision", "choose_precision", "hardware_support"]
