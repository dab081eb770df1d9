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
    return [line.split("] ", 1)[1] for line in card.frame.console
            if "[softphone stand-in]" in line]


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
    # REST goes from the leader (each frame's stub is its own REST server in the kit: the
    # follower's CALL_ID is unknown to the leader's, so only the request is asserted)
    leader.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    follower.wait_for_command("CallCardClose")
