"""UNet Studio: label microscopy images, train a U-Net on them, review and export masks."""

__version__ = "0.1.0"
