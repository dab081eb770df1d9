"""Fixtures for end-to-end tests: the real `python server.py` in a subprocess, as users run it."""

import contextlib
import shutil
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
FRAME = ROOT / "frame"
SERVER_PY = ROOT / "server.py"


@pytest.fixture(scope="session")
def frame_server(tmp_path_factory):
    """The production frame served by server.py."""
    logs = tmp_path_factory.mktemp("frame-server")
    with ServerProcess(["--access-log", "off", "--error-log", logs / "errors.jsonl"],
                       script=SERVER_PY, cwd=ROOT) as server:
        yield server


@pytest.fixture(scope="session")
def make_frame(tmp_path_factory):
    """Copy of the production frame with another main.py: for tests that need their own Python.

    Everything but main.py is the production frame byte for byte (index.html, boot.js, configs),
    served by server.py from the same runtime; ``server_args`` adds options (``--bx24 DIR``...).
    """
    with contextlib.ExitStack() as servers:
        def make(main_py, extra_files=None, server_args=()):
            folder = tmp_path_factory.mktemp("frame")
            for item in FRAME.iterdir():
                if item.is_file() and item.name != "main.py":
                    shutil.copy(item, folder / item.name)
            (folder / "main.py").write_text(main_py)
            for name, text in (extra_files or {}).items():
                (folder / name).write_text(text)
            args = ["--frame", folder, "--access-log", "off",
                    "--error-log", folder / "errors.jsonl", *server_args]
            return servers.enter_context(ServerProcess(args, script=SERVER_PY, cwd=ROOT))

        yield make
