"""The production frame, served by `python server.py`, boots Python in Chromium with no network.

Bitrix24's library URL is routed to the BX24 stub; every other request must stay on our own
server (a CDN reference fails the test). The frame is loaded with an HTTP POST, as Bitrix24 does.
"""

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import FrameNotReady, frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_frame_boots_and_answers_initialized(page, frame_server, interpreter):
    url = frame_url(frame_server.url, interpreter)
    frame = open_frame(page, url)  # waits for the ready signal: Python has bound its events
    assert page.evaluate("location.href") == url

    card = StubCard(frame)
    card.raise_call(PHONE_NUMBER="+79991234567")
    sent = card.wait_for_command("CallCardSetCardTitle")
    assert "+79991234567" in sent["params"]["title"]
    assert frame.outside_requests == []
    assert "PythonError" not in frame.console_text()


def test_urllib_fetches_from_the_server_inside_pyodide(page, make_frame):
    """pyodide-http is patched at boot, so plain urllib works from the frame's Python."""
    server = make_frame(
        "import urllib.request\n"
        "from pyscript import document, window\n"
        "base = window.location.origin + '/'\n"
        "body = urllib.request.urlopen(base + 'healthz').read().decode().strip()\n"
        "frame_source = urllib.request.urlopen(base + 'main.py').read().decode()\n"
        "document.documentElement.dataset.fetched = body + '|' + str('urllib.request' in frame_source)\n"
        "document.documentElement.dataset.bx24 = 'ready'\n")
    frame = open_frame(page, server.url)
    assert page.evaluate("document.documentElement.dataset.fetched") == "ok|True"
    assert frame.outside_requests == []


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_python_waits_for_a_bx24_library_that_arrives_late(page, frame_server, interpreter):
    """On a portal the BX24 library comes from Bitrix24's network, while the interpreter may come
    from the browser's cache: main.py must not run before BX24 and the bridge have."""
    waiting = "Python is ready; main.py waits for the BX24 library and the bridge"
    with page.expect_console_message(lambda message: waiting in message.text):
        frame = open_frame(page, frame_url(frame_server.url, interpreter), hold_bx24=True)
    assert page.evaluate("document.documentElement.dataset.bx24") is None
    assert page.evaluate("typeof window.BX24") == "undefined"

    frame.release_bx24()
    frame.wait_ready()
    card = StubCard(frame)
    card.raise_call(ui_state="connected")
    card.wait_for_command("CallCardSetCardTitle")
    card.click("mute")
    card.wait_for_command("CallCardSetMute", muted=True)
    assert "PythonError" not in frame.console_text()
    assert "pageerror" not in frame.console_text()


@pytest.mark.parametrize("query, extra_files, says", [
    ("?interpreter=cpython", None, 'unknown interpreter "cpython": use one of pyodide, micropython'),
    ("?interpreter=micropython", {"micropython.json": "{not json"},
     "cannot read the PyScript config micropython.json"),
])
def test_a_boot_that_cannot_start_says_why_at_once(page, make_frame, query, extra_files, says):
    server = make_frame("raise SystemExit('main.py must not run')\n", extra_files)
    frame = open_frame(page, server.url + query, wait=False)
    with pytest.raises(FrameNotReady, match=r"boot failed \(error\)"):
        frame.wait_ready()
    assert says in frame.console_text()
