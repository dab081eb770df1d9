"""Tracebacks from the frame name the app's files as the project does (frame/main.py, line N),
on both interpreters: in the console (what the kit's failure messages quote) and in the frame's
reports to the server. (Pyodide runs main.py as "<exec>", MicroPython as "<stdin>".)"""

import json
from pathlib import Path

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import FrameNotReady, frame_url, open_frame, wait_until
from bx24_testing.plugin import INTERPRETERS

MAIN = """import bx24
import helper

card = bx24.page.card()


@card.on("initialized")
async def show(call):
    helper.fail_here()

card.attach()
"""
HELPER = """def fail_here():
    x = 1
    raise RuntimeError("boom in helper")
"""
TOP = """import bx24
x = 1
raise ValueError("top level boom")
"""


def reports(server):
    project = Path(server.command[server.command.index("--project") + 1])
    path = project / "frame-reports.jsonl"
    return (
        [json.loads(line)["report"] for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_handlers_traceback_names_main_py_and_the_module(page, make_frame, interpreter):
    server = make_frame(MAIN, {"helper.py": HELPER})
    frame = open_frame(page, frame_url(server.url, interpreter))
    with page.expect_console_message(lambda m: 'File "frame/helper.py", line 3' in m.text):
        StubCard(frame).raise_call()
    console = frame.console_text()
    assert 'File "frame/main.py", line 9, in show' in console
    assert "<exec>" not in console and "<stdin>" not in console
    [python] = wait_until(
        page,
        lambda: [r for r in reports(server) if r["kind"] == "python"],
        what="the frame's report",
    )
    assert 'File "frame/main.py", line 9, in show' in python["message"]
    assert 'File "frame/helper.py", line 3, in fail_here' in python["message"]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_main_py_failing_names_its_line_in_the_kits_failure(page, make_frame, interpreter):
    server = make_frame(TOP)
    with pytest.raises(FrameNotReady) as failed:
        open_frame(page, frame_url(server.url, interpreter))
    assert 'File "frame/main.py", line 3, in <module>' in str(failed.value)
    assert "ValueError: top level boom" in str(failed.value)
    [boot] = wait_until(
        page, lambda: [r for r in reports(server) if r["kind"] == "boot"], what="the frame's report"
    )
    assert 'File "frame/main.py", line 3, in <module>' in boot["message"]
