"""``python -m gaussmix ...`` is the ``gaussmix`` command (see :mod:`gaussmix.cli.main`); ``python -m gaussmix demo``."""

from __future__ import annotations

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
