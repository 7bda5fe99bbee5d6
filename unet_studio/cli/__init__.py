"""`unet-studio`: the command line. Parsing and printing only; the work lives in the layers below."""

from unet_studio.cli.main import main

__all__ = ["main"]
