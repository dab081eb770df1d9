"""The test frame: a blank page at a fake https origin that loads BX24 from its production URL,
answered with the stub, then the test harness (harness.js). The frame belongs to a portal of the
model (bx24_testing.bitrix24.Portal, at example.bitrix24.com), answered through the page's
routes: its REST, the frame's init data."""

import json
from pathlib import Path

from bx24_testing.bitrix24 import Portal
from bx24_testing.portal import frame_name, route
from bx24_testing.stub import BX24_URL, BX24_URL_PATTERN, stub_script

FRAME_URL = "https://frame.test/"
HARNESS = Path(__file__).with_name("harness.js").read_text(encoding="utf-8")


def frame_html(config=None, head="", name=""):
    """The test frame: its window.name (the portal's session), optional BX24_STUB_CONFIG, the
    library from its production URL, the harness."""
    config_tag = (
        f"<script>window.BX24_STUB_CONFIG = {json.dumps(config)};</script>" if config else ""
    )
    return (
        f"<!doctype html><html><head><script>window.name = {json.dumps(name)};</script>"
        f"{config_tag}"
        f'<script src="{BX24_URL}"></script>'
        f'<script src="{FRAME_URL}harness.js"></script>{head}'
        "</head><body></body></html>"
    )


def open_frame(page, config=None, head="", wait_init=True, portal=None, user=1):
    """Load the test frame in ``page`` (of ``portal``, a fresh one by default: ``page.portal``);
    by default wait until BX24 has run its init callbacks."""
    portal = portal or Portal("example.bitrix24.com")
    page.portal = portal
    route(page, portal, hosts=[(config or {}).get("domain") or portal.domain])
    session = portal.open_session(
        user, options={"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"}
    )
    script = stub_script()
    html = frame_html(config, head, frame_name(portal, session))
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
