"""Fast fake tests under the frame's own MicroPython (issue 22, point 6): ``FakePortal(
interpreter="micropython")``, ``BX24_FAKE_INTERPRETER`` or pytest's ``--bx24-fake-interpreter``
run the app that ``load_app`` loads in the MicroPython build the frame boots (in Node), the
portal staying in CPython. The sample app's scenario runs there as in CPython; an app that
CPython runs and MicroPython cannot fails there, with MicroPython's traceback naming its line."""

import subprocess
import sys
from pathlib import Path

import pytest

from bx24_testing.fake import FakePortal, run
from bx24_testing.micropython import MicroPythonError

TEMPLATE = Path(__file__).resolve().parents[2] / "pylib/bx24_frame/template"
MAIN = TEMPLATE / "frame/main.py"


def test_the_sample_app_runs_its_call_under_micropython():
    out = {}

    async def scenario():
        portal = FakePortal(interpreter="micropython")
        app = await portal.load_app(MAIN)
        await portal.settle()
        out["where"] = portal.micropython.evaluate("sys.implementation.name", app)
        out["registration"] = app["softphone"].registration
        portal.softphone.ring("+15550001122")
        await portal.settle()
        call = app["calls"].current  # an object in MicroPython, reached from the test
        out["state"] = call.state
        portal.click("answer")
        await portal.settle()
        portal.advance(42)
        portal.click("hangup")
        await portal.settle()
        out["finish"] = portal.rest_calls("telephony.externalcall.finish")
        out["titles"] = [p for c, p in portal.commands if c == "CallCardSetCardTitle"]

    run(scenario())
    assert out["where"] == "micropython"
    assert out["registration"] == "registered" and out["state"] == "ringing"
    [finish] = out["finish"]
    assert finish["params"]["STATUS_CODE"] == "200" and finish["params"]["DURATION"] == "42"
    assert out["titles"] == [{"title": "Incoming call +15550001122"}]


APP = """\
import bx24

calls = bx24.page.calls(bx24.StandInSoftphone(), line_number="line1")


@calls.on("shown")
async def show(call):
    await calls.card.set_title("Call " + call.phone_number.removeprefix("+"))


calls.start()
"""


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
def test_what_micropython_lacks_fails_there_only(tmp_path, capfd, interpreter):
    """``str.removeprefix`` (CPython 3.9) is not in MicroPython: the card's title is never
    written there, and the hook's failure (logged: hooks do not stop a call) names the app's
    line."""
    (tmp_path / "main.py").write_text(APP)
    out = {}

    async def scenario():
        portal = FakePortal(interpreter=interpreter)
        app = await portal.load_app(tmp_path / "main.py")
        app["calls"].incoming("+15550001122")
        await portal.settle()
        out["titles"] = [p["title"] for c, p in portal.commands if c == "CallCardSetCardTitle"]

    run(scenario())
    if interpreter == "cpython":
        assert out["titles"] == ["Call 15550001122"]
    else:
        assert out["titles"] == []
        logged = capfd.readouterr().err
        assert "removeprefix" in logged and 'File "/app/main.py", line 8' in logged


def test_an_import_micropython_lacks_fails_the_load_with_its_line(tmp_path):
    (tmp_path / "main.py").write_text("import bx24\nfrom dataclasses import dataclass\n")

    async def scenario():
        await FakePortal(interpreter="micropython").load_app(tmp_path / "main.py")

    with pytest.raises(MicroPythonError) as failed:
        run(scenario())
    assert 'File "/app/main.py", line 2' in str(failed.value)
    assert "no module named 'dataclasses'" in str(failed.value)


def test_the_pytest_option_runs_a_projects_fake_tests_under_micropython(tmp_path):
    """``--bx24-fake-interpreter=micropython``: the sample project's own fast tests, there."""
    test = tmp_path / "test_where.py"
    test.write_text(
        "from bx24_testing.fake import FakePortal, run\n"
        f"MAIN = {str(MAIN)!r}\n"
        "def test_where():\n"
        "    async def go():\n"
        "        portal = FakePortal()\n"
        "        app = await portal.load_app(MAIN)\n"
        "        return portal.micropython.evaluate('sys.implementation.name', app)\n"
        "    assert run(go()) == 'micropython'\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(test),
            str(TEMPLATE / "tests/test_logic.py"),
            "--bx24-fake-interpreter=micropython",
            "--rootdir",
            str(TEMPLATE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=TEMPLATE,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout


TOP_LEVEL_AWAIT = """\
import asyncio
import bx24

await asyncio.sleep(0)
calls = bx24.page.calls(bx24.StandInSoftphone(), line_number="line1")


@calls.on("shown")
async def show(call):
    await calls.card.set_title("Call " + call.phone_number)


calls.start()
"""


@pytest.mark.parametrize("interpreter", ["cpython", "micropython"])
def test_a_main_py_with_top_level_await_runs_as_the_page_runs_it(tmp_path, interpreter):
    """main.py runs as PyScript runs it (MicroPython: ``runPythonAsync`` from JavaScript, in
    ``__main__``): top-level ``await`` allowed, its functions see its globals."""
    (tmp_path / "main.py").write_text(TOP_LEVEL_AWAIT)

    async def scenario():
        portal = FakePortal(interpreter=interpreter)
        app = await portal.load_app(tmp_path / "main.py")
        app["calls"].incoming("+15550001122")
        await portal.settle()
        return [p["title"] for c, p in portal.commands if c == "CallCardSetCardTitle"]

    assert run(scenario()) == ["Call +15550001122"]


def test_a_portals_micropython_ends_with_close_all():
    """The plugin calls close_all after each test: no Node left waiting for the collector."""
    from bx24_testing.micropython import close_all

    async def scenario():
        portal = FakePortal(interpreter="micropython")
        await portal.load_app(MAIN)
        return portal.micropython._process

    process = run(scenario())
    assert process.poll() is None
    close_all()
    assert process.poll() is not None
