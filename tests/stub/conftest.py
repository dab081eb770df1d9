"""A blank frame page with the BX24 stub served at Bitrix24's URL, as the production frame gets it.

One page serves a whole test module (``card_page``): each test starts from ``BX24Stub.reset()``
in browser mode, with every ``BackgroundCallCard::*`` event bound once by the harness.
"""

import json
from pathlib import Path

import pytest

from bx24_testing.stub import BX24_URL, BX24_URL_PATTERN, stub_script

FRAME_URL = "https://frame.test/"
HARNESS = Path(__file__).with_name("harness.js").read_text(encoding="utf-8")


def frame_html(config=None, head=""):
    """The test frame: optional BX24_STUB_CONFIG, the library from its production URL, the harness."""
    config_tag = (
        f"<script>window.BX24_STUB_CONFIG = {json.dumps(config)};</script>" if config else ""
    )
    return (
        f"<!doctype html><html><head>{config_tag}"
        f'<script src="{BX24_URL}"></script>'
        f'<script src="{FRAME_URL}harness.js"></script>{head}'
        "</head><body></body></html>"
    )


def open_frame(page, config=None, head="", wait_init=True):
    """Load the test frame in ``page``; by default wait until BX24 has run its init callbacks."""
    script = stub_script()
    html = frame_html(config, head)
    page.route(
        BX24_URL_PATTERN,
        lambda route: route.fulfill(body=script, content_type="text/javascript"),
    )

    def serve_frame(route):
        if route.request.url.endswith("/harness.js"):
            route.fulfill(body=HARNESS, content_type="text/javascript")
        else:
            route.fulfill(body=html, content_type="text/html")

    page.route(FRAME_URL + "**", serve_frame)
    page.goto(FRAME_URL)
    if wait_init:
        page.wait_for_function("window.BX24Stub && BX24Stub.initialized()")
    return page


@pytest.fixture(scope="module")
def stub_context(browser):
    """One browser context per module: a new page in it is cheaper than a new context."""
    context = browser.new_context()
    yield context
    context.close()


@pytest.fixture(scope="module")
def shared_page(stub_context):
    page = open_frame(stub_context.new_page())
    page.evaluate("T.bindAll()")
    yield page
    page.close()


@pytest.fixture
def card_page(shared_page):
    """The module's page, reset: no card, empty logs, browser mode."""
    shared_page.evaluate("BX24Stub.reset(); BX24Stub.configure({mode: 'browser'}); T.clear()")
    return shared_page


@pytest.fixture
def new_page(stub_context):
    """A blank page of its own, closed after the test."""
    page = stub_context.new_page()
    yield page
    page.close()


@pytest.fixture
def fresh_page(new_page):
    """A page of its own with the test frame loaded and initialized, nothing bound yet."""
    return open_frame(new_page)
