"""The frame where operators load it: an iframe of a portal page on another site, by a POST,
with its storage partitioned by the portal's site (Chrome's default, incognito included) or
denied (a profile that blocks site data). It must boot either way on both interpreters, and a
frame that cannot boot, or whose Python fails, must say so at once and report it to the app's
server, never sit silently deaf.
"""

import json
import time
from pathlib import Path

import pytest

from bx24_testing.browser import denying_storage
from bx24_testing.card import StubCard
from bx24_testing.frame import FrameNotReady, frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS

IDB_PROBE = """() => new Promise((resolve) => {
  try {
    const request = indexedDB.open("probe-" + Math.random());
    request.onsuccess = () => resolve(indexedDB.constructor.name);
    request.onerror = (event) => { event.preventDefault(); resolve("denied"); };
  } catch (error) { resolve("denied"); }
})"""
MEMORY_NOTE = "IndexedDB is denied to this frame"
SECRET = "4f1c2a9e7d6b5a3c"


def reported(page):
    """Waits for the frame's next report to be answered (the server wrote it by then)."""
    return page.expect_response(lambda response: response.url.endswith("/frame-report"))


def reports(server):
    """The frame reports the server logged, and the log's text."""
    project = Path(server.command[server.command.index("--project") + 1])
    text = (project / "frame-reports.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()], text


def drive(frame):
    card = StubCard(frame)
    card.softphone.ring("+15550001122")
    card.wait_for_command("CallCardSetCardTitle", title="Incoming call +15550001122")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_boots_cross_site_with_its_storage_partitioned(page, frame_server, interpreter):
    frame = open_frame(page, frame_url(frame_server.url, interpreter))
    assert frame.target.parent_frame == page.main_frame  # an iframe of the portal stand-in
    assert frame.evaluate("location.origin") != page.evaluate("location.origin")
    assert frame.evaluate(IDB_PROBE) == "IDBFactory"  # the browser's own, partitioned
    assert MEMORY_NOTE not in frame.console_text()
    drive(frame)


@pytest.fixture(scope="module")
def storage_denied(browser_type, browser_type_launch_args, tmp_path_factory):
    context = denying_storage(
        browser_type, browser_type_launch_args, str(tmp_path_factory.mktemp("profile"))
    )
    yield context
    context.close()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_boots_cross_site_with_its_storage_denied(storage_denied, frame_server, interpreter):
    page = storage_denied.new_page()
    try:
        frame = open_frame(page, frame_url(frame_server.url, interpreter))
        # The browser denies this frame IndexedDB; PyScript got one in memory, and it said so.
        assert frame.evaluate(IDB_PROBE) == "Object"
        assert MEMORY_NOTE in frame.console_text()
        drive(frame)
    finally:
        page.close()


def test_the_kits_chromium_partitions_a_frames_storage_as_chrome_does(browser, frame_server):
    """Playwright turns Chrome's storage partitioning off; the kit turns it back on: the same
    frame under two portals of one site (a.bitrix24.com, b.bitrix24.com) shares a partition,
    under a portal of another site it does not (BroadcastChannel, like IndexedDB)."""
    from bx24_testing.portal import portal as stand_in

    context = browser.new_context()
    try:
        server = stand_in()
        first, same_site = (server.new_portal(name, frame_server.url) for name in ("a", "b"))
        frames = [
            open_frame(context.new_page(), frame_server.url, portal=p, wait=False)
            for p in (first, same_site)
        ]
        other = context.new_page()
        frames.append(open_frame(other, frame_server.url, cross_site=False, wait=False))
        for frame in frames:
            frame.target.wait_for_load_state()
            frame.evaluate(
                "() => { window.heard = []; window.probe = new BroadcastChannel('probe');"
                " window.probe.onmessage = (event) => window.heard.push(event.data); }"
            )
        frames[0].evaluate("new BroadcastChannel('probe').postMessage('hello')")
        frames[1].target.wait_for_function("window.heard.length === 1")
        assert frames[1].evaluate("window.heard") == ["hello"]  # a.portal and b.portal: one site
        assert frames[2].evaluate("window.heard") == []  # the frame's own site, top level
    finally:
        context.close()


FAILING_MAIN = f"""\
import bx24
raise RuntimeError("cannot reach the PBX (AUTH_ID={SECRET})")
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_boot_that_fails_is_an_error_at_once_and_a_report_on_the_server(
    page, make_frame, interpreter
):
    server = make_frame(FAILING_MAIN)
    started = time.monotonic()
    with reported(page) as response:
        frame = open_frame(page, frame_url(server.url, interpreter), wait=False)
        with pytest.raises(FrameNotReady, match="cannot reach the PBX"):
            frame.wait_ready()
    assert time.monotonic() - started < 15
    assert response.value.status == 204
    [record], text = reports(server)
    report = record["report"]
    assert report["kind"] == "boot"
    assert report["interpreter"] == interpreter
    assert report["uri"] == "/crm/deal/"  # PLACEMENT_OPTIONS.URI: which portal page
    assert (
        "Traceback" in report["message"]
        and "RuntimeError: cannot reach the PBX" in report["message"]
    )
    assert "Chrome" in record["user_agent"] and record["client"] == "127.0.0.1"
    assert SECRET not in text and "AUTH_ID=***" in text


HANDLER_MAIN = f"""\
import bx24
card = bx24.page.card()

@card.on("initialized")
async def show(call):
    raise ValueError("no such line (refresh_token: {SECRET}, sip:101:{SECRET}@pbx)")

card.attach()
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_python_error_in_a_handler_lands_in_the_servers_log(page, make_frame, interpreter):
    server = make_frame(HANDLER_MAIN)
    frame = open_frame(page, frame_url(server.url, interpreter))
    with (
        reported(page),
        page.expect_request(lambda request: request.url.endswith("/frame-report")) as sent,
    ):
        StubCard(frame).raise_call()
    # redacted in the browser, before it is sent (the server's patterns, from the boot config)
    assert SECRET not in sent.value.post_data and "sip:101:***@pbx" in sent.value.post_data
    [record], text = reports(server)
    assert record["report"]["kind"] == "python"
    assert "handler show of initialized raised" in record["report"]["message"]
    assert "ValueError: no such line" in record["report"]["message"]
    assert SECRET not in text and "refresh_token: ***" in text


def test_a_boot_that_stalls_is_caught_by_the_watchdog_and_its_recovery_reported(page, make_frame):
    # main.py takes longer than the watchdog allows before it attaches: reported as stuck,
    # then as recovered once it is ready.
    server = make_frame(
        "import asyncio\nimport bx24\ncard = bx24.page.card()\n"
        "await asyncio.sleep(2.5)\ncard.attach()\n",
        settings="watchdog_seconds = 1\n",
    )
    with reported(page):
        frame = open_frame(page, frame_url(server.url, "micropython"), wait=False)
        with pytest.raises(
            FrameNotReady, match=r"boot watchdog: no progress for 1 s \(last: running main.py\)"
        ):
            frame.wait_ready()
    with reported(page):
        frame.target.wait_for_function(
            "document.documentElement.dataset.bx24 === 'ready'", polling=50, timeout=10_000
        )
    records, _ = reports(server)
    assert [r["report"]["kind"] for r in records] == ["watchdog", "recovered"]
    assert "past the watchdog" in records[1]["report"]["message"]
