"""``python -m vgg_teach.train``: train a VGG from the command line (see :mod:`vgg_teach.training.cli`)."""

from __future__ import annotations

import sys

from .training.cli import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
