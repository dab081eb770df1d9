"""``python -m bx24_frame``: the ``bx24`` command."""

import sys

from .cli import main

sys.exit(main())
