"""An operator's frames in Chromium (one profile, cross-site in the portal stand-in, third-party
storage blocked), as bx24.toml's python_frames has them: only the oldest run Python (the
leader, and a stand-in by default); the others are relays, with no interpreter in their realm,
whose card events reach the leader's Python and which run its commands. A relay that the
election makes a Python frame boots it then: the events of its card meanwhile reach it in
order, once; its boot failing is reported like any frame's."""

import json
import shutil
from pathlib import Path

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import frame_url, open_frame, wait_until
from bx24_testing.plugin import INTERPRETERS


ROOT = Path(__file__).resolve().parents[2]

# What a relay must never have: an interpreter's script element, or any of its downloads.
NO_INTERPRETER = """() => !document.querySelector('script[type="py"], script[type="mpy"]')
  && !performance.getEntriesByType("resource").some((e) =>
       /\\.wasm|pyodide|micropython|@pyscript|python_stdlib|snapshot/.test(e.name))"""

COMMENTS = """\
import json
import bx24
from pyscript import document

card = bx24.page.card()
seen = []

@card.on("addCommentButtonClick")
def comment(text):
    seen.append(text)
    document.documentElement.dataset.seen = json.dumps(seen)

card.attach()
"""


@pytest.fixture(scope="module")
def sample_one_python(tmp_path_factory, serve_project):
    """This repository's sample app with ``python_frames = 1``: the leader alone runs Python,
    so a relay boots it when the leader goes."""
    project = tmp_path_factory.mktemp("one-python")
    template = ROOT / "pylib" / "bx24_frame" / "template"
    shutil.copytree(template / "frame", project / "frame")
    (project / "bx24.toml").write_text("python_frames = 1\n" + (template / "bx24.toml").read_text())
    with serve_project(project, project, "--emulator") as server:
        yield server


@pytest.fixture(scope="module")
def comments_one_python(make_frame):
    return make_frame(COMMENTS, settings="python_frames = 1\n")


def open_cards(context, server, interpreter, n):
    return [
        StubCard(open_frame(context.new_page(), frame_url(server.url, interpreter)))
        for _ in range(n)
    ]


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_three_frames_two_run_python_one_relays_and_takes_over(browser, frame_server, interpreter):
    context = browser.new_context()
    leader, stand_in, relay = open_cards(context, frame_server, interpreter, 3)
    cards = (leader, stand_in, relay)
    stand_in.frame.wait_python()  # (it boots once the leader's Python is up)
    assert [c.frame.python() for c in cards] == ["ready", "ready", "none"]
    assert [c.frame.evaluate("bx24Frames.leader") for c in cards] == [True, False, False]
    assert relay.frame.evaluate(NO_INTERPRETER) is True
    assert leader.frame.evaluate(NO_INTERPRETER) is False  # (the check sees an interpreter)
    leader.softphone.wait_ready()

    # click-to-call in the relay: the leader's Python dials, its commands reach the relay's card
    relay.raise_call(PHONE_NUMBER="+15550177001", CALL_DIRECTION="outgoing", ui_state="outgoing")
    relay.click("makeCall")
    relay.wait_for_command("CallCardSetUiState", uiState="connectingOutgoing")
    leader.softphone.pick_up()
    relay.wait_for_command("CallCardSetStatusText", statusText="Talking")
    relay.click("hangup")
    leader.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    relay.wait_for_command("CallCardClose")
    assert relay.frame.evaluate(NO_INTERPRETER) is True  # it carried a call, still no Python

    # the leader's tab closes: the stand-in leads at once, the relay becomes the stand-in
    leader.page.close()
    wait_until(
        relay.page, lambda: stand_in.frame.evaluate("bx24Frames.leader"), what="the stand-in leads"
    )
    relay.frame.wait_python()
    assert relay.frame.evaluate("bx24Frames.leader") is False
    assert all(c.frame.python_errors() == [] for c in (stand_in, relay))
    context.close()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_relays_events_before_and_during_a_leader_change_reach_python_in_order_once(
    browser, comments_one_python, interpreter
):
    context = browser.new_context()
    url = frame_url(comments_one_python.url, interpreter)
    leader = open_frame(context.new_page(), url)
    relay = open_frame(context.new_page(), url)
    assert [leader.python(), relay.python()] == ["ready", "none"]

    def seen(frame):
        return json.loads(frame.evaluate("document.documentElement.dataset.seen ?? '[]'"))

    for text in ("1", "2"):
        relay.evaluate("(t) => BX24Stub.fire('addCommentButtonClick', t)", text)
    wait_until(leader.page, lambda: seen(leader) == ["1", "2"], what="the leader's Python got both")
    # the leader's page navigates away; the relay's card goes on meanwhile: it leads, boots
    # Python, and its Python gets what came since, in order, once
    leader.page.goto("about:blank")
    for text in ("3", "4", "5"):
        relay.evaluate("(t) => BX24Stub.fire('addCommentButtonClick', t)", text)
    relay.wait_python()
    wait_until(relay.page, lambda: seen(relay) == ["3", "4", "5"], what="3, 4, 5 in the new leader")
    relay.evaluate("BX24Stub.fire('addCommentButtonClick', '6')")
    wait_until(relay.page, lambda: seen(relay) == ["3", "4", "5", "6"], what="and the next one")
    assert relay.evaluate("bx24Frames.leader") is True
    context.close()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_next_leader_boots_registers_and_takes_the_next_call(
    browser, sample_one_python, interpreter
):
    context = browser.new_context()
    leader, relay = open_cards(context, sample_one_python, interpreter, 2)
    assert [leader.frame.python(), relay.frame.python()] == ["ready", "none"]
    leader.softphone.wait_ready()
    leader.page.goto("about:blank")
    relay.frame.wait_python()
    relay.softphone.wait_ready()  # the new leader's phone registered
    relay.softphone.ring("+15550177002")
    relay.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER="+15550177002")
    relay.click("answer")
    relay.wait_for_command("CallCardSetStatusText", statusText="Talking")
    assert relay.frame.python_errors() == []
    context.close()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_relay_that_cannot_boot_python_when_it_must_says_so(
    browser, comments_one_python, interpreter
):
    context = browser.new_context()
    url = frame_url(comments_one_python.url, interpreter)
    leader = open_frame(context.new_page(), url)
    relay = open_frame(context.new_page(), url)
    assert relay.python() == "none"
    # the interpreter cannot be had any more (a deploy that removed it, a proxy that blocks it)
    relay.page.route("**/*.wasm", lambda route: route.abort())
    relay.page.route("**/*.wasm.*", lambda route: route.abort())
    with relay.page.expect_response(lambda r: r.url.endswith("/frame-report")) as report:
        leader.page.goto("about:blank")
        relay.target.wait_for_function(
            "document.documentElement.dataset.bx24 === 'error'", timeout=30000, polling=50
        )
    assert relay.python() == "error"
    body = json.loads(report.value.request.post_data)
    assert body["kind"] in ("boot", "watchdog")
    assert relay.evaluate("document.documentElement.dataset.bx24Error")
    context.close()
