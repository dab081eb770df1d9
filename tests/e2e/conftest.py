"""Fixtures for end-to-end tests: the real server.py in a subprocess, and frame pages in Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAME = ROOT / "frame"
INTERPRETERS = ["pyodide", "micropython"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    """`python server.py` on a free loopback port, as a user runs it."""

    def __init__(self, *args, cwd=ROOT):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", str(self.port), *args],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + "healthz", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("server.py did not start:\n" + self.output)
                time.sleep(0.05)  # polling a socket for readiness, not waiting on the browser

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.output = self.proc.stdout.read() if self.proc.stdout else ""


@pytest.fixture(scope="session")
def frame_server():
    """The production frame served by server.py."""
    server = RunningServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_frame(tmp_path_factory):
    """Copy of the production frame with another main.py: for tests that need their own Python.

    Everything but main.py is the production frame byte for byte (index.html, boot.js, configs),
    and the runtime and pylib are the same served folders.
    """
    servers = []

    def make(main_py, extra_files=None):
        folder = tmp_path_factory.mktemp("frame")
        for item in FRAME.iterdir():
            if item.is_file() and item.name != "main.py":
                shutil.copy(item, folder / item.name)
        (folder / "main.py").write_text(main_py)
        for name, text in (extra_files or {}).items():
            (folder / name).write_text(text)
        server = RunningServer("--frame", str(folder))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
