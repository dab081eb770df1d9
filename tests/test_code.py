"""The repository's code habits, checked with every test run: the linter and the formatter (ruff,
their config in pyproject.toml) over everything, and the type checker (mypy) over the CPython-side packages
(bx24_frame, bx24_server, bx24_testing; the browser library runs on MicroPython too, untyped)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tool(name):
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `./dev.sh test` installs it (the dev extra)")
    return found


def test_ruff_finds_nothing():
    done = subprocess.run(
        [tool("ruff"), "check", "pylib", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted():
    """`ruff format pylib tests bench` fixes it (the browser library and the app template are
    left out: their syntax stays the subset MicroPython parses, by hand)."""
    done = subprocess.run(
        [tool("ruff"), "format", "--check", "pylib", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
