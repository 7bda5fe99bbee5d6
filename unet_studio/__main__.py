"""`python -m unet_studio` is the same as the `unet-studio` command."""

import sys

from unet_studio.cli import main

sys.exit(main())
