"""An operator's frames in Chromium, cross-site in the portal stand-in, third-party storage blocked
(BroadcastChannel still joins them; Web Locks would not): one leads, and a card that Bitrix24
opened in another frame is run by the leader's Python through that frame. The sample app, with
the SIP stand-in (no SIP server needed; tests/e2e/test_sip_browser.py has the real one)."""

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import frame_url, open_frame, wait_until
from bx24_testing.plugin import INTERPRETERS


@pytest.fixture(params=INTERPRETERS)
def two_frames(request, browser, frame_server):
    context = browser.new_context()  # one browser profile: one operator
    first = StubCard(open_frame(context.new_page(), frame_url(frame_server.url, request.param)))
    second = StubCard(open_frame(context.new_page(), frame_url(frame_server.url, request.param)))
    yield first, second
    for card in (first, second):
        assert card.frame.python_errors() == []
    context.close()


def roles(*cards):
    return [card.frame.evaluate("bx24Frames.leader") for card in cards]


def said(card):
    return [line.split("] ", 1)[1] for line in card.frame.console if "[softphone stand-in]" in line]


def test_the_older_frame_leads_and_only_it_has_the_phone(two_frames):
    leader, follower = two_frames
    assert roles(leader, follower) == [True, False]
    leader.softphone.wait_ready()
    assert follower.frame.evaluate("!!window.bx24StandInSoftphone") is False
    assert [c["method"] for c in follower.rest_calls()] == []  # no account asked, no phone


def test_a_card_opened_in_another_frame_is_run_by_the_leader_through_it(two_frames):
    leader, follower = two_frames
    leader.softphone.wait_ready()
    # click-to-call: Bitrix24 opens an outgoing card in the follower's page
    follower.raise_call(PHONE_NUMBER="+15550177000", CALL_DIRECTION="outgoing", ui_state="outgoing")
    follower.click("makeCall")
    # the leader's Python dials with its phone, and its command reaches the follower's card
    follower.wait_for_command("CallCardSetUiState", uiState="connectingOutgoing")
    wait_until(leader.page, lambda: "dial +15550177000" in said(leader), what="the leader dialled")
    assert leader.commands() == []  # nothing was sent to the leader's own (absent) card
    leader.softphone.pick_up()  # the callee answers: the follower's card shows it
    follower.wait_for_command("CallCardSetStatusText", statusText="Talking")
    follower.click("hangup")
    # REST goes from the leader, to the portal both frames belong to: it knows the CALL_ID
    # Bitrix24 registered for the follower's card, and takes the finish
    finish = leader.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    assert finish["status"] == 200
    follower.wait_for_command("CallCardClose")


@pytest.fixture(params=INTERPRETERS)
def two_portals(request, browser, frame_server):
    """One browser profile, two portals of one site (a.portal.localhost, b.portal.localhost:
    one storage partition, as a.bitrix24.com and b.bitrix24.com are), a frame in each."""
    from bx24_testing.portal import portal as stand_in

    context = browser.new_context()
    portals = [stand_in().new_portal(name, frame_server.url) for name in ("a", "b")]
    url = frame_url(frame_server.url, request.param)
    cards = [StubCard(open_frame(context.new_page(), url, portal=p)) for p in portals]
    yield cards
    for card in cards:
        assert card.frame.python_errors() == []
    context.close()


def test_frames_of_two_portals_each_lead_and_call_with_their_own_portal(two_portals):
    a, b = two_portals
    assert roles(a, b) == [True, True]
    assert a.frame.evaluate("bx24Frames.group") != b.frame.evaluate("bx24Frames.group")
    a.softphone.wait_ready()
    b.softphone.wait_ready()  # each portal's operator has a phone
    # click-to-call in portal B: B's phone dials, and B's portal gets the call's finish
    b.raise_call(PHONE_NUMBER="+15550188000", CALL_DIRECTION="outgoing", ui_state="outgoing")
    b.click("makeCall")
    wait_until(b.page, lambda: "dial +15550188000" in said(b), what="B dialled")
    b.softphone.pick_up()
    b.wait_for_command("CallCardSetStatusText", statusText="Talking")
    b.click("hangup")
    b.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    assert [c["status"] for c in b.portal.rest_calls("telephony.externalcall.finish")] == [200]
    assert a.portal.rest_calls("telephony.externalcall.finish") == []
    assert "dial +15550188000" not in said(a)


HOSTILE = """<!doctype html><script>
  // another page of the app's origin, under the same portal (one storage partition): it knows
  // the old channel name and the protocol, not the operator's secret
  for (const name of ["bx24-frames", "bx24-frames.0"]) {
    const channel = new BroadcastChannel(name);
    window.heard = [];
    channel.onmessage = (event) => window.heard.push(event.data);
    channel.postMessage({type: "hello", from: "evil", born: 0});
    channel.postMessage({type: "gone", from: "evil", id: "anyone"});
    channel.postMessage({type: "forward", from: "evil", to: "anyone",
                         message: {type: "event", name: "initialized", payload: {CALL_ID: "x"}}});
  }
  document.documentElement.dataset.hostile = "done";
</script>"""


def test_a_page_that_is_not_an_operators_frame_cannot_lead_listen_or_speak(two_frames):
    leader, follower = two_frames
    leader.softphone.wait_ready()
    origin = leader.frame.target.url.split("?")[0].rstrip("/")
    context = leader.page.context

    def serve(target):  # the app's host answers with the hostile page (routed after the kit's)
        target.route(
            origin + "/hostile", lambda route: route.fulfill(content_type="text/html", body=HOSTILE)
        )
        return target

    # in the portal's page beside the operator's frame (the same storage partition)...
    page = serve(leader.page)
    page.evaluate(
        """(url) => { const f = document.createElement("iframe"); f.src = url;
                                document.body.append(f); }""",
        origin + "/hostile",
    )
    wait_until(
        page, lambda: any(f.url.endswith("/hostile") for f in page.frames), what="the hostile frame"
    )
    hostile = next(f for f in page.frames if f.url.endswith("/hostile"))
    hostile.wait_for_function("document.documentElement.dataset.hostile === 'done'")
    # ...and as a tab of its own, top level
    tab = serve(context.new_page())
    tab.goto(origin + "/hostile")
    tab.wait_for_function("document.documentElement.dataset.hostile === 'done'")
    # a real card event after all that: it goes from the follower to the real leader
    follower.raise_call(PHONE_NUMBER="+15550177001", CALL_DIRECTION="outgoing", ui_state="outgoing")
    follower.click("makeCall")
    wait_until(leader.page, lambda: "dial +15550177001" in said(leader), what="the leader dialled")
    assert roles(leader, follower) == [True, False]
    assert leader.frame.evaluate("bx24Frames.peers()") == [
        follower.frame.evaluate("bx24Frames.id")
    ]  # the follower, and no one else
    assert hostile.evaluate("window.heard") == [] and tab.evaluate("window.heard") == []
    assert [c for c in said(leader) if c.startswith("dial")] == ["dial +15550177001"]
    tab.close()
