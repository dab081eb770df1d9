"""The production frame, served by `bx24 serve`, boots Python in Chromium with no network.

Bitrix24's library URL is routed to the BX24 stub; every other request must stay on our own
server (a CDN reference fails the test). The frame is loaded with an HTTP POST, as Bitrix24 does.
"""

import re
import time

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import FrameNotReady, frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_frame_boots_and_answers_initialized(page, frame_server, interpreter):
    url = frame_url(frame_server.url, interpreter)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    frame = open_frame(page, url)  # waits for the ready signal: Python has bound its events
    assert frame.evaluate("location.href") == url
    assert frame.target != page.main_frame  # an iframe of the portal stand-in, cross-site

    card = StubCard(frame)
    card.softphone.ring("+79991234567")
    sent = card.wait_for_command("CallCardSetCardTitle")
    assert "+79991234567" in sent["params"]["title"]
    assert frame.outside_requests == []
    assert "PythonError" not in frame.console_text()
    # The interpreter's big files are asked for once each (the page starts them, the
    # interpreter is handed those responses), the Python modules in one file, PyScript's
    # plugins a worker never uses not at all.
    boot = frame.evaluate("JSON.parse(document.getElementById('bx24-boot').textContent)")
    for url in boot["interpreters"][interpreter]["fetches"]:
        assert len([u for u in requested if u.endswith("/" + url)]) == 1, url
    assert len([u for u in requested if "/modules/" in u]) == 1
    assert not [u for u in requested if re.search(r"/bx24/\w+\.\w+\.py$", u)]
    unused = [
        u
        for u in requested
        if re.search(
            r"/(py-editor|py-game|py-terminal|donkey|"
            r"deprecations-manager)-\w+\.js$",
            u,
        )
    ]
    assert unused == []


def test_urllib_fetches_from_the_server_inside_pyodide(page, make_frame):
    """pyodide-http is patched at boot, so plain urllib works from the frame's Python."""
    server = make_frame(
        "import urllib.request\n"
        "from pyscript import document, window\n"
        "base = window.location.origin + '/'\n"
        "body = urllib.request.urlopen(base + 'healthz').read().decode().strip()\n"
        "page = urllib.request.urlopen(base).read().decode()\n"
        "document.documentElement.dataset.fetched = body + '|' + str('bx24-boot' in page)\n"
        "document.documentElement.dataset.bx24 = 'ready'\n"
    )
    frame = open_frame(page, server.url)
    assert frame.evaluate("document.documentElement.dataset.fetched") == "ok|True"
    assert frame.outside_requests == []


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_python_waits_for_a_bx24_library_that_arrives_late(page, frame_server, interpreter):
    """On a portal the BX24 library comes from Bitrix24's network, while the interpreter may come
    from the browser's cache: main.py must not run before BX24 and the bridge have."""
    waiting = "Python is ready; main.py waits for the BX24 library and the bridge"
    with page.expect_console_message(lambda message: waiting in message.text):
        frame = open_frame(page, frame_url(frame_server.url, interpreter), hold_bx24=True)
    assert frame.evaluate("document.documentElement.dataset.bx24") is None
    assert frame.evaluate("typeof window.BX24") == "undefined"

    frame.release_bx24()
    frame.wait_ready()
    card = StubCard(frame)
    card.softphone.ring("+79991234567")
    card.wait_for_command("CallCardSetCardTitle")
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.click("mute")
    card.wait_for_command("CallCardSetMute", muted=True)
    assert "PythonError" not in frame.console_text()
    assert "pageerror" not in frame.console_text()


def test_an_unknown_interpreter_fails_at_once_and_says_why(page, frame_server):
    frame = open_frame(page, frame_server.url + "?interpreter=cpython", wait=False)
    with pytest.raises(FrameNotReady, match='unknown interpreter "cpython": use one of'):
        frame.wait_ready()


BROKEN = {
    "syntax error": ("def broken(:\n", ["SyntaxError"]),
    "import error": ("import helpers\n", ["ImportError", "helpers.py", "missing"]),
    "unknown module": ("import no_such_module\n", ["no_such_module"]),
    "wrong event name": (
        "import bx24\ncard = bx24.page.card()\n@card.on('muteClick')\n"
        "def f(muted): pass\ncard.attach()\n",
        ["unknown call-card event 'muteClick'"],
    ),
}


@pytest.mark.parametrize("interpreter", INTERPRETERS)
@pytest.mark.parametrize("mistake", BROKEN)
def test_a_frame_that_fails_to_boot_fails_at_once_with_the_traceback(
    page, make_frame, interpreter, mistake
):
    main, says = BROKEN[mistake]
    server = make_frame(main, modules={"helpers.py": "from os import missing\n"})
    started = time.monotonic()
    frame = open_frame(page, frame_url(server.url, interpreter), wait=False)
    with pytest.raises(FrameNotReady) as failure:
        frame.wait_ready()
    assert time.monotonic() - started < 15
    message = str(failure.value).split("console:")[0]
    assert "boot failed: Python failed" in message and "Traceback" in message
    assert all(part in message for part in says), message
