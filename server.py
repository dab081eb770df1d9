#!/usr/bin/env python3
"""Serve the Bitrix24 worker frame: ``python server.py --help``."""

import sys
from pathlib import Path

try:
    from bx24_server.cli import main
except ImportError:  # run from a checkout without the project installed
    sys.path.insert(0, str(Path(__file__).resolve().parent / "pylib"))
    from bx24_server.cli import main

if __name__ == "__main__":
    sys.exit(main(repo_dir=Path(__file__).resolve().parent))
