"""The softphone against a production-shaped SIP side (issue 23): the operator registers over
WSS with Kamailio, rtpengine bridges the browser's DTLS-SRTP/ICE to plain RTP/AVP, and a plain
SIP phone (baresip: a desk phone, a carrier trunk) sends a 440 Hz tone and records what it
hears (conftest's ``edge`` and ``desk``). Both interpreters: the plain phone calls the operator,
who answers from the card; audio goes both ways through rtpengine (the operator's received
energy rises; baresip's recording is not silent); mute → the desk phone records silence,
unmute → sound again; hold → the desk phone stops sending (rtpengine's counters) and the
operator hears nothing, resume → both ways again; the operator hangs up from the card and the
call is finished once. And the other way: the operator dials the desk phone from the card,
audio both ways, a DTMF key reaches it as an RFC 4733 event, the desk phone hangs up."""

import time

import pytest

from bx24_testing.frame import frame_url, wait_until
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.sip import open_operator, operator_phone
from bx24_testing.turn import TurnServer

OPERATOR, DESK = "101", "300"


def assert_silent_at(desk, page):
    """A second of what the desk phone records is silence (after what was on its way)."""
    page.wait_for_timeout(500)  # the transition, not a wait for a state
    start = len(desk.heard())
    wait_until(page, lambda: len(desk.heard()) >= start + 10, what="a second more recorded")
    assert max(desk.heard()[start : start + 10]) < 0.002


def assert_heard_again_at(desk, page):
    start = len(desk.heard())
    wait_until(
        page,
        lambda: sum(level > 0.01 for level in desk.heard()[start:]) >= 3,
        what="the operator heard again at the desk phone",
    )


def assert_audio_both_ways(operator, desk, page):
    """The desk phone's tone reaches the operator (its received energy rises), and the
    operator's microphone is heard at the desk phone (its recording is not silent)."""
    first = operator_stats(operator)
    wait_until(
        page,
        lambda: operator_stats(operator)["inboundEnergy"] > first["inboundEnergy"] + 0.01,
        what="the desk phone's tone reaching the operator",
    )
    wait_until(
        page,
        lambda: sum(level > 0.01 for level in desk.heard()) >= 5,
        what="the operator's microphone heard at the desk phone (its recording)",
    )


def wait_still(page, read, what, quiet_s=1.0):
    """Until ``read()`` has not changed for ``quiet_s`` (a stream that stopped)."""
    last = [read(), time.monotonic()]

    def still():
        now = read()
        if now != last[0]:
            last[:] = [now, time.monotonic()]
        return time.monotonic() - last[1] >= quiet_s

    wait_until(page, still, what=what)


def wait_growing(page, read, what):
    start = read()
    wait_until(page, lambda: read() > start, what=what)


def assert_hold_and_resume(operator, desk, edge, page):
    """Hold: a re-INVITE through rtpengine; the operator only sends, the desk phone stops (its
    RTP at rtpengine stops) and the operator hears nothing. Resume: both ways again, the desk
    phone's tone heard by the operator. (baresip's recording stops at a re-INVITE, so the
    desk's side is read from rtpengine's counters.)"""
    desk_rtp = lambda: edge.relay_packets()["plain"]  # noqa: E731
    heard = lambda: operator_stats(operator)["inboundEnergy"]  # noqa: E731
    operator.click("hold", True)
    wait_until(
        page, lambda: operator_phone(operator, "direction") == "sendonly", what="hold negotiated"
    )
    wait_still(page, desk_rtp, what="the desk phone's RTP stopping while held")
    wait_still(page, heard, what="the operator hearing nothing while held")
    wait_growing(page, lambda: edge.relay_packets()["browser"], what="the operator still sending")
    operator.click("hold", False)
    wait_until(
        page, lambda: operator_phone(operator, "direction") == "sendrecv", what="resume negotiated"
    )
    wait_growing(page, desk_rtp, what="the desk phone's RTP after resume")
    wait_growing(page, heard, what="the desk phone's tone heard again after resume")


def operator_stats(card):
    return operator_phone(card, "stats")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_desk_phone_calls_the_operator_through_rtpengine(
    page, edge_frame_server, edge, desk, interpreter
):
    assert edge.url.startswith("wss://")
    operator = open_operator(page, frame_url(edge_frame_server.url, interpreter), edge)
    desk.call(OPERATOR)
    operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=DESK)
    operator.click("answer")
    operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
    assert_audio_both_ways(operator, desk, page)
    assert "DTLS-SRTP successfully negotiated" in edge.rtpengine_log()
    # mute: the desk phone hears silence (RTP goes on, the track is off); unmute: sound again
    operator.click("mute", True)
    assert_silent_at(desk, page)
    operator.click("mute", False)
    assert_heard_again_at(desk, page)
    assert_hold_and_resume(operator, desk, edge, page)
    operator.click("hangup")
    finish = operator.wait_for_rest("telephony.externalcall.finish")
    assert finish["params"]["STATUS_CODE"] == "200"
    wait_until(page, lambda: "session closed" in desk.log(), what="the desk phone's call ended")
    assert len(operator.rest_calls("telephony.externalcall.finish")) == 1
    page.close()
    wait_until(None, lambda: not edge.contacts(OPERATOR), what="the operator's contact gone")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_operator_calls_a_desk_phone_and_sends_dtmf(
    page, edge_frame_server, edge, desk, interpreter
):
    operator = open_operator(page, frame_url(edge_frame_server.url, interpreter), edge)
    operator.raise_call(PHONE_NUMBER=DESK, CALL_DIRECTION="outgoing", ui_state="outgoing")
    operator.click("makeCall")
    desk.wait_event("CALL_INCOMING")
    desk.answer()
    operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
    assert_audio_both_ways(operator, desk, page)
    operator.click("dialpad", "5")  # RFC 4733, in the audio, through rtpengine
    wait_until(
        page,
        lambda: "received event: '5' (end=1)" in desk.log(),  # baresip: an RFC 4733 event
        what="DTMF 5 at the desk phone",
    )
    desk.hang_up()
    finish = operator.wait_for_rest("telephony.externalcall.finish")
    assert finish["params"]["STATUS_CODE"] == "200"
    page.close()
    wait_until(None, lambda: not edge.contacts(OPERATOR), what="the operator's contact gone")


@pytest.fixture(scope="module")
def relay_only_frame_server(make_sample, edge):
    """The sample app, media through TURN only; its TURN servers fetched when the phone
    starts."""
    return make_sample(
        {
            'ICE_TRANSPORT_POLICY = "all"': 'ICE_TRANSPORT_POLICY = "relay"',
        },
        sip_server=edge,
        turn_from_user_option=True,
    )


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_a_desk_phone_call_with_the_operators_media_through_turn_only(
    page, relay_only_frame_server, edge, desk, interpreter
):
    import json

    with TurnServer() as turn:
        operator = open_operator(
            page,
            frame_url(relay_only_frame_server.url, interpreter),
            edge,
            user_options={"turn": json.dumps(turn.ice_servers("operator-101"))},
        )
        desk.call(OPERATOR)
        operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=DESK)
        operator.click("answer")
        operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
        assert_audio_both_ways(operator, desk, page)
        assert turn.allocations() >= 1
        operator.click("hangup")
        operator.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
        page.close()
    wait_until(None, lambda: not edge.contacts(OPERATOR), what="the operator's contact gone")
