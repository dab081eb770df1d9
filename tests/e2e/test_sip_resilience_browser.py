"""The softphone when its link breaks (issue 23), against Kamailio over WSS + rtpengine and a
plain SIP phone (baresip: conftest's ``edge`` and ``desk``), both interpreters, in a call:

- the registration is refreshed before it expires (Kamailio grants 10 s here); a refresh
  refused (403), unanswered (408) or challenged again (401: the password changed) is said on the
  card of the call in progress, the call goes on, and the phone registers again by itself once
  the server accepts it (the card says "Talking" again);
- Kamailio killed mid-call (every process, at once) and started again: the card says the link
  dropped, the call's media goes on through rtpengine meanwhile, the phone is registered again
  within RECOVERY_S, the call's dialog is refreshed (a re-INVITE) so the desk phone's hang-up
  reaches the operator, and the call is finished once, answered; a hang-up at the desk phone
  *while* Kamailio is down is learnt when the link is back (the re-INVITE is answered 481): the
  call is finished once, answered, with why;
- the browser's network gone (Chromium offline) and back: the card says it at once, the phone
  registers again within RECOVERY_S of the network's return."""

import time

import pytest

from bx24_testing.frame import frame_url, wait_until
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.sip import open_operator, operator_phone

OPERATOR, DESK = "101", "300"
FINISH = "telephony.externalcall.finish"
# JsSIP tries the WebSocket again 1 to 4 s apart (sip.mjs: connection_recovery_*), then
# registers: measured 0.6-1.9 s from Kamailio's return to the new contact
RECOVERY_S = 8
OFFLINE = "Softphone offline: "


def talking(page, url, edge, desk):
    """The operator's frame, in a call the desk phone made and the operator answered."""
    operator = open_operator(page, url, edge)
    desk.call(OPERATOR)
    operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=DESK)
    operator.click("answer")
    operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
    desk.wait_event("CALL_ESTABLISHED")
    assert_media_flows(operator, edge, page, "the call")
    return operator


def operator_heard(operator):
    """The audio energy the operator's call has received so far (it rises while media flows)."""
    return operator_phone(operator, "stats")["inboundEnergy"]


def assert_media_flows(operator, edge, page, what):
    heard, sent = operator_heard(operator), edge.relay_packets()["browser"]
    wait_until(page, lambda: operator_heard(operator) > heard + 0.01, what=f"{what}: heard")
    wait_until(page, lambda: edge.relay_packets()["browser"] > sent + 10, what=f"{what}: sent")


def says(operator, text, after, timeout_ms=15_000):
    return operator.wait_for_command(
        "CallCardSetStatusText", timeout_ms=timeout_ms, after=after, statusText=text
    )


REFUSALS = {
    403: "the SIP server refused the operator (403)",
    408: "the SIP server did not answer in time (408)",
    401: "the SIP server did not accept the operator's SIP password (401)",
}


# each interpreter's card says some of them (the words are the library's, the same on both)
@pytest.mark.parametrize(
    "interpreter, codes", [("pyodide", [401]), ("micropython", [403, 408])], ids=INTERPRETERS
)
def test_refused_refreshes_are_said_on_the_card_and_the_phone_registers_again(
    page, edge_frame_server, edge, desk, interpreter, codes
):
    operator = talking(page, frame_url(edge_frame_server.url, interpreter), edge, desk)
    for code in codes:
        mark, refused = operator.mark(), edge.log().count(" refused with ")
        edge.refuse_registrations(code)
        try:  # the next refresh, 5 s before the 10 s registration ends
            says(operator, OFFLINE + REFUSALS[code], mark)
        finally:
            edge.refuse_registrations(0)
        assert edge.log().count(" refused with ") > refused  # a refresh, not a new connection
        says(operator, "Talking", operator.mark())  # asked again a second later: registered
        assert edge.contacts(OPERATOR)
    assert_media_flows(operator, edge, page, "the call went on")
    operator.click("hangup")
    operator.wait_for_rest(FINISH, STATUS_CODE="200")
    wait_until(page, lambda: "session closed" in desk.log(), what="the desk phone's call ended")
    assert len(operator.rest_calls(FINISH)) == 1


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_kamailio_killed_mid_call_the_call_goes_on_and_ends_once(
    page, edge_frame_server, edge, desk, interpreter
):
    operator = talking(page, frame_url(edge_frame_server.url, interpreter), edge, desk)
    mark = operator.mark()
    edge.kill()
    try:
        says(operator, OFFLINE + "the connection to the SIP server dropped: reconnecting", mark)
        assert_media_flows(operator, edge, page, "media through rtpengine without Kamailio")
    finally:
        edge.start()
    back = time.monotonic()
    wait_until(page, lambda: edge.contacts(OPERATOR), RECOVERY_S, what="registered again")
    print(f"registered again {time.monotonic() - back:.1f} s after Kamailio's return")
    says(operator, "Talking", mark)
    wait_until(
        page,
        lambda: "got re-INVITE" in desk.log(),
        what="the call's dialog refreshed at the desk phone",
    )
    assert_media_flows(operator, edge, page, "the call after the restart")
    desk.hang_up()  # its BYE reaches the operator over the new connection
    finish = operator.wait_for_rest(FINISH)
    assert finish["params"]["STATUS_CODE"] == "200"
    assert len(operator.rest_calls(FINISH)) == 1
    wait_until(page, lambda: not operator_sessions(operator), what="the operator's call over")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_desk_phone_hangs_up_while_kamailio_is_down(
    page, edge_frame_server, edge, desk, interpreter
):
    """Its BYE cannot reach the operator; when the link is back, the operator's re-INVITE is
    answered 481 (no such call): the call is over, finished once as answered, with why."""
    operator = talking(page, frame_url(edge_frame_server.url, interpreter), edge, desk)
    mark = operator.mark()
    edge.kill()
    try:
        says(operator, OFFLINE + "the connection to the SIP server dropped: reconnecting", mark)
        desk.hang_up()
    finally:
        edge.start()
    finish = operator.wait_for_rest(FINISH, timeout_ms=RECOVERY_S * 1000)
    assert finish["params"]["STATUS_CODE"] == "200"
    assert "no longer had the call" in finish["params"]["FAILED_REASON"]
    wait_until(page, lambda: not operator_sessions(operator), what="the operator's call over")
    assert len(operator.rest_calls(FINISH)) == 1


def operator_sessions(operator):
    return operator_phone(operator, "sessionIds", session=False)


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_network_gone_and_back(page, edge_frame_server, edge, desk, interpreter):
    operator = talking(page, frame_url(edge_frame_server.url, interpreter), edge, desk)
    mark = operator.mark()
    page.context.set_offline(True)
    try:
        says(operator, OFFLINE + "this computer's network is down", mark, timeout_ms=3_000)
    finally:
        page.context.set_offline(False)
    back = time.monotonic()
    says(operator, "Talking", mark, timeout_ms=RECOVERY_S * 1000)
    wait_until(page, lambda: edge.contacts(OPERATOR), RECOVERY_S, what="registered again")
    print(f"registered again {time.monotonic() - back:.1f} s after the network's return")
    assert_media_flows(operator, edge, page, "the call after the network's return")
    operator.click("hangup")
    operator.wait_for_rest(FINISH, STATUS_CODE="200")
    wait_until(page, lambda: "session closed" in desk.log(), what="the desk phone's call ended")
    assert len(operator.rest_calls(FINISH)) == 1
