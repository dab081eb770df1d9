"""The production frame, served by `python server.py`, boots Python in Chromium with no network.

Bitrix24's library URL is routed to the BX24 stub; every other request must stay on our own
server (a CDN reference fails the test). The frame is loaded with an HTTP POST, as Bitrix24 does.
"""

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import frame_url, open_frame
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
