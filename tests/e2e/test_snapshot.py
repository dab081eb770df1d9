"""The Pyodide frame boots from the memory snapshot made at set-up, and Python still works.

A restored interpreter skips CPython's start and the imports done at set-up, so these tests check
what must still happen at boot: PyScript's `files` are written, the `pyscript` module works,
pyodide_http is patched, the bx24 library drives the card; and that without a usable snapshot the
frame boots the normal way with a console warning.
"""

from pathlib import Path

import pytest

from bx24_frame import settings
from bx24_frame.runtime import Runtime
from bx24_frame.site import FrameSite
from bx24_testing.card import StubCard
from bx24_testing.frame import open_frame

ROOT = Path(__file__).resolve().parents[2]
WARNING = "booting Pyodide without a snapshot"

# Proves each thing in one page: no stdlib module imported at boot outside the image (the boot
# stays a restore, not a compile), the image's stdlib modules present before main.py ran but not
# the frame's own code (imported fresh from the served files), the `files` written after the
# restore, the `pyscript` module, and urllib through pyodide_http.
CHECK_MAIN = """\
import sys

bx24_frozen = "bx24" in sys.modules
import os
import urllib.request

import bx24
import bx24.browser
from pyscript import document, window

checks = {
    # Stdlib modules imported since the restore (by PyScript's package, pyodide_http, bx24 and
    # this page): each was read from the stdlib zip and compiled on this boot.
    "stdlib_imported_at_boot": sorted(
        name for name, module in sys.modules.items()
        if name not in IMAGE_MODULES
        and (getattr(module, "__file__", None) or "").startswith("/lib/python")),
    "image_modules": all(name in sys.modules for name in IMAGE_MODULES),
    "bx24_not_frozen": not bx24_frozen,
    "files_written": os.path.exists("bx24/callcard.py") and os.path.exists("pyodide_http"),
    "urllib": urllib.request.urlopen(window.location.origin + "/healthz").read().decode().strip(),
    "bx24_usable": callable(bx24.CallCard),
}
document.documentElement.dataset.checks = repr(sorted(checks.items()))
document.documentElement.dataset.bx24 = "ready"
"""


@pytest.fixture(scope="module")
def manifest():
    """What `bx24 setup` built for this repository's app (and any app with the same inputs)."""
    manifest = FrameSite(settings.load(ROOT), Runtime().require()).build().snapshot_manifest
    if manifest is None:
        pytest.fail("no Pyodide snapshot for this app: run `bx24 setup`")
    return manifest


def snapshot_fetched(frame, manifest):
    return frame.evaluate(
        "(name) => performance.getEntriesByType('resource').some(e => e.name.endsWith(name))",
        manifest["snapshot"],
    )


def test_python_works_after_restoring_the_snapshot(page, make_frame, manifest):
    main = f"IMAGE_MODULES = {manifest['modules']!r}\n" + CHECK_MAIN
    frame = open_frame(page, make_frame(main).url)
    checks = frame.evaluate("document.documentElement.dataset.checks")
    # A module named under stdlib_imported_at_boot belongs in bx24_frame/snapshot.py's IMPORTS
    # (then `bx24 setup`): every boot pays for importing it.
    assert checks == repr(
        sorted(
            {
                "stdlib_imported_at_boot": [],
                "image_modules": True,
                "bx24_not_frozen": True,
                "files_written": True,
                "urllib": "ok",
                "bx24_usable": True,
            }.items()
        )
    )
    assert snapshot_fetched(frame, manifest)
    assert WARNING not in frame.console_text()


def test_production_frame_from_the_snapshot_drives_the_card(page, frame_server, manifest):
    frame = open_frame(page, frame_server.url)
    assert snapshot_fetched(frame, manifest)
    card = StubCard(frame)
    card.softphone.ring("+79991234567")
    card.wait_for_command("CallCardSetCardTitle")
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.click("mute")
    card.wait_for_command("CallCardSetMute", muted=True)
    assert WARNING not in frame.console_text()
    assert "PythonError" not in frame.console_text()


def test_frame_boots_without_a_snapshot_and_warns(page, make_frame):
    # Another `preload` is another image, and no `bx24 setup` built this one.
    server = make_frame(
        "import bx24\ncard = bx24.page.card()\n"
        "@card.on('initialized')\nasync def show(call):\n"
        "    await card.set_title('Call')\ncard.attach()\n",
        settings='preload = ["colorsys"]\n',
    )
    frame = open_frame(page, server.url)
    assert WARNING in frame.console_text()
    card = StubCard(frame)
    card.raise_call()
    card.wait_for_command("CallCardSetCardTitle", title="Call")
