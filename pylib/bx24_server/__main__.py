"""``python -m bx24_server``: the server command, with default folders under the current one."""

import sys

from .cli import main

sys.exit(main())
