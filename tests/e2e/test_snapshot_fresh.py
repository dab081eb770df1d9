"""What a memory snapshot must not freeze: per-page randomness, and code edited since set-up.

The snapshot holds an interpreter's whole memory, so anything seeded or imported while it was
made is the same on every page restored from it. The loader reseeds `random` after each restore,
and the image keeps no module of the frame's own files (only the stdlib they use), so an edited
bx24 module, or a user's module, is what the page runs even before the set-up rebuilds the image.
"""

import shutil
from pathlib import Path

import pytest

from bx24_testing.frame import open_frame

ROOT = Path(__file__).resolve().parents[2]

RANDOM_MAIN = """\
import random
from pyscript import document
document.documentElement.dataset.value = repr(random.random())
document.documentElement.dataset.bx24 = "ready"
"""

FRESH_MAIN = """\
import bx24
from pyscript import document
document.documentElement.dataset.value = getattr(bx24, "EDITED_AFTER_SETUP", "stale")
document.documentElement.dataset.bx24 = "ready"
"""


def snapshot_restored(frame):
    return not any("without a snapshot" in line for line in frame.console)


def test_each_page_gets_its_own_random_sequence(browser, make_frame):
    server = make_frame(RANDOM_MAIN)
    values = []
    for _ in range(2):
        page = browser.new_page()
        frame = open_frame(page, server.url)
        assert snapshot_restored(frame), frame.console_text()
        values.append(page.evaluate("document.documentElement.dataset.value"))
        page.close()
    assert values[0] != values[1]


@pytest.fixture
def edited_library(tmp_path):
    """A copy of pylib/bx24 edited after the set-up built the snapshot."""
    library = tmp_path / "bx24"
    shutil.copytree(ROOT / "pylib" / "bx24", library,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with (library / "__init__.py").open("a") as init:
        init.write('\nEDITED_AFTER_SETUP = "fresh"\n')
    return library


def test_the_page_runs_the_bx24_code_served_now(page, make_frame, edited_library):
    server = make_frame(FRESH_MAIN, server_args=["--bx24", edited_library])
    frame = open_frame(page, server.url)
    assert snapshot_restored(frame), frame.console_text()
    assert page.evaluate("document.documentElement.dataset.value") == "fresh"
