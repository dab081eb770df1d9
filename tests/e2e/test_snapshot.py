"""The Pyodide frame boots from the memory snapshot made at set-up, and Python still works.

A restored interpreter skips CPython's start and the imports done at set-up, so these tests check
what must still happen at boot: PyScript's `files` are written, the `pyscript` module works,
pyodide_http is patched, the bx24 library drives the card; and that without a usable snapshot the
frame boots the normal way with a console warning.
"""

import json
import os
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess
from bx24_testing.card import StubCard
from bx24_testing.frame import open_frame

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime"
MANIFEST = RUNTIME / "snapshot" / "manifest.json"
WARNING = "booting Pyodide without a snapshot"

# Proves each thing in one page: the image's stdlib modules present before main.py ran but not
# the frame's own code (imported fresh from the served files), the `files` written after the
# restore, the `pyscript` module, and urllib through pyodide_http.
CHECK_MAIN = """\
import os
import sys
import urllib.request

from pyscript import document, window

checks = {
    "image_modules": all(name in sys.modules for name in IMAGE_MODULES),
    "bx24_not_frozen": "bx24" not in sys.modules,
    "files_written": os.path.exists("bx24/callcard.py") and os.path.exists("pyodide_http"),
    "urllib": urllib.request.urlopen(window.location.origin + "/healthz").read().decode().strip(),
}
import bx24  # noqa: E402
checks["bx24_usable"] = callable(bx24.CallCard)
document.documentElement.dataset.checks = repr(sorted(checks.items()))
document.documentElement.dataset.bx24 = "ready"
"""


@pytest.fixture(scope="module")
def manifest():
    if not MANIFEST.is_file():
        pytest.fail(f"no Pyodide snapshot at {MANIFEST}: run ./dev.sh setup")
    return json.loads(MANIFEST.read_text())


def snapshot_fetched(page, manifest):
    return page.evaluate(
        "(name) => performance.getEntriesByType('resource').some(e => e.name.endsWith(name))",
        manifest["snapshot"])


def test_python_works_after_restoring_the_snapshot(page, make_frame, manifest):
    main = f"IMAGE_MODULES = {manifest['modules']!r}\n" + CHECK_MAIN
    frame = open_frame(page, make_frame(main).url)
    checks = page.evaluate("document.documentElement.dataset.checks")
    assert checks == repr(sorted({
        "image_modules": True, "bx24_not_frozen": True, "files_written": True, "urllib": "ok", "bx24_usable": True,
    }.items()))
    assert snapshot_fetched(page, manifest)
    assert WARNING not in frame.console_text()


def test_production_frame_from_the_snapshot_drives_the_card(page, frame_server, manifest):
    frame = open_frame(page, frame_server.url)
    assert snapshot_fetched(page, manifest)
    card = StubCard(frame)
    card.raise_call(ui_state="connected")
    card.wait_for_command("CallCardSetCardTitle")
    card.click("mute")
    card.wait_for_command("CallCardSetMute", muted=True)
    assert WARNING not in frame.console_text()
    assert "PythonError" not in frame.console_text()


@pytest.mark.parametrize("snapshot", ["missing", "other-pyodide"])
def test_frame_boots_without_a_usable_snapshot_and_warns(page, tmp_path, snapshot):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in ("node_modules", "wheels"):
        os.symlink(RUNTIME / name, runtime / name)
    if snapshot == "other-pyodide":
        (runtime / "snapshot").mkdir()
        (runtime / "snapshot" / "manifest.json").write_text(
            json.dumps({"pyodide": "0.0.0", "snapshot": "none.snapshot"}))
    with ServerProcess(["--runtime", runtime, "--access-log", "off",
                        "--error-log", tmp_path / "errors.jsonl", "--cache-dir", tmp_path / "cache"],
                       script=ROOT / "server.py", cwd=ROOT) as server:
        frame = open_frame(page, server.url)
        assert WARNING in frame.console_text()
        card = StubCard(frame)
        card.raise_call()
        card.wait_for_command("CallCardSetCardTitle")
