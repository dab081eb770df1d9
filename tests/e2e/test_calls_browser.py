"""Whole calls in the browser, on both interpreters: the sample app (``bx24.calls`` over the
stand-in softphone) against the stub's card and REST server, asserted with the kit's own
waits. The page's clock is Playwright's, so a call's 42 s of talk take no time."""

import pytest

from bx24_testing.card import CommandNotSent, StubCard
from bx24_testing.frame import frame_url, open_frame
from bx24_testing.plugin import INTERPRETERS

REGISTER = "telephony.externalcall.register"
FINISH = "telephony.externalcall.finish"


@pytest.fixture(params=INTERPRETERS)
def card(request, page, frame_server):
    page.clock.install()  # time flows, and a test may jump it forward
    frame = open_frame(page, frame_url(frame_server.url, request.param))
    yield StubCard(frame)
    assert frame.python_errors() == []
    assert frame.outside_requests == []


def softphone_said(card):
    return [line.split("] ", 1)[1] for line in card.frame.console if "[softphone stand-in]" in line]


def ring(card, number="+15550001122"):
    """The softphone rings; returns the registration, once the card shows the call."""
    card.softphone.ring(number)
    register = card.wait_for_rest(
        REGISTER, PHONE_NUMBER=number, TYPE=2, SHOW=1, LINE_NUMBER="line1", USER_ID=1
    )
    card.wait_for_command("CallCardSetCardTitle", title="Incoming call " + number)
    return register


def test_an_incoming_call_from_ring_to_finish(card):
    register = ring(card)
    assert register["params"]["EXTERNAL_CALL_ID"]  # a fresh one: calls never merge
    call_id = register["answer"]["result"]["CALL_ID"]
    assert card.state()["call"]["CALL_ID"] == call_id  # the card Bitrix24 opened for it

    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.wait_for_command("CallCardSetStatusText", statusText="Talking")
    card.click("mute", True)
    card.wait_for_command("CallCardSetMute", muted=True)
    card.click("hold", True)
    card.wait_for_command("CallCardSetHold", held=True)
    card.click("hold", False)
    card.wait_for_command("CallCardSetHold", held=False)
    card.click("dialpad", "5")
    card.click("transfer", "17")
    card.wait_for_command("CallCardSetUiState", uiState="transferring")
    card.click("cancelTransfer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")

    card.page.clock.fast_forward(42_000)
    card.click("hangup")
    finish = card.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="200", USER_ID=1)
    assert 42 <= int(finish["params"]["DURATION"]) <= 44  # from the answer, rounded
    card.wait_for_command("CallCardClose")
    assert card.state()["closed"]
    assert len(card.rest_calls(FINISH)) == 1
    assert softphone_said(card) == [
        "answer the call from +15550001122",
        "microphone muted",
        "call held",
        "call resumed",
        "DTMF 5",
        "hang up",
    ]


def test_a_transfer_hands_the_call_over(card):
    call_id = ring(card)["answer"]["result"]["CALL_ID"]
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.click("transfer", "+15550199887")
    card.wait_for_command("CallCardSetUiState", uiState="transferring")
    card.click("completeTransfer")
    card.wait_for_command("CallCardSetUiState", uiState="transferConnected")
    card.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="200")
    card.wait_for_command("CallCardClose")
    assert softphone_said(card)[-1] == "transfer to +15550199887"


def test_a_call_the_caller_gives_up_on_is_missed(card):
    call_id = ring(card)["answer"]["result"]["CALL_ID"]
    card.page.clock.fast_forward(20_000)  # ringing time is not talk time
    card.softphone.hang_up()
    card.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="304", DURATION=0)
    card.wait_for_command("CallCardClose")


def test_a_call_the_operator_skips_is_declined(card):
    ring(card)
    card.click("skip")
    card.wait_for_rest(FINISH, STATUS_CODE="603", DURATION=0)
    assert softphone_said(card)[-1] == "reject the call (603)"


def test_the_other_side_hangs_up_a_connected_call(card):
    ring(card)
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.page.clock.fast_forward(5_000)
    card.softphone.hang_up()
    finish = card.wait_for_rest(FINISH, STATUS_CODE="200")
    assert 5 <= int(finish["params"]["DURATION"]) <= 7
    card.wait_for_command("CallCardClose")


def test_an_outgoing_call_bitrix24_raised(card):
    """Click-to-call: Bitrix24 registered the call and raised an outgoing card; the operator
    clicks Call, the softphone dials, the callee picks up and later hangs up."""
    card.raise_call(
        CALL_DIRECTION="outgoing", PHONE_NUMBER="+15550177000", CALL_ID="externalCall.click.1"
    )
    card.click("makeCall")
    card.wait_for_command("CallCardSetUiState", uiState="connectingOutgoing")
    card.softphone.pick_up()
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.page.clock.fast_forward(30_000)
    card.softphone.hang_up()
    finish = card.wait_for_rest(FINISH, CALL_ID="externalCall.click.1", STATUS_CODE="200")
    assert 30 <= int(finish["params"]["DURATION"]) <= 32
    assert card.rest_calls(REGISTER, after=0) == []  # Bitrix24 registered it already
    assert softphone_said(card) == ["dial +15550177000"]  # the callee hung up, not we


def test_a_busy_callee(card):
    card.raise_call(CALL_DIRECTION="outgoing", PHONE_NUMBER="+15550177000")
    card.click("makeCall")
    card.wait_for_command("CallCardSetUiState", uiState="connectingOutgoing")
    card.softphone.fail("486")
    card.wait_for_rest(FINISH, STATUS_CODE="486", DURATION=0)


def test_waits_look_only_after_the_last_action(card):
    """The old ``wait_for_command`` matched any command ever sent: this test passed with it
    though hanging up sends no ``connected``."""
    ring(card)
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.click("hangup")
    with pytest.raises(CommandNotSent, match="since the last action"):
        card.wait_for_command("CallCardSetUiState", uiState="connected", timeout_ms=300)
    card.wait_for_command("CallCardSetUiState", uiState="connected", after=0)  # it was sent
    mark = card.mark()
    with pytest.raises(CommandNotSent, match="after the mark"):
        card.wait_for_command("CallCardClose", after=mark, timeout_ms=300)


SHAPED = """
import bx24
from bx24.telephony import Status

softphone = bx24.StandInSoftphone()
calls = bx24.page.calls(softphone, line_number="line1",
                        register={"CRM_CREATE": True, "CRM_SOURCE": "CALL"},
                        finish={"COST": 0.25, "COST_CURRENCY": "EUR"},
                        skip_status=Status.MISSED)


@calls.on("finishing")
def rated(call):
    call.finish_fields["ADD_TO_CHAT"] = False

calls.start()
"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_calls_take_what_bitrix24_takes(page, make_frame, interpreter):
    """Register with CRM_CREATE (a lead made), finish with the card's rating as VOTE and the
    session's fields, the card's comment written to the call's CRM activity; the skip button
    finishing as missed (a queue's choice)."""
    server = make_frame(SHAPED)
    card = StubCard(open_frame(page, frame_url(server.url, interpreter)))
    card.softphone.ring("+15550001122")
    register = card.wait_for_rest(REGISTER, CRM_CREATE=1, CRM_SOURCE="CALL")
    assert register["answer"]["result"]["CRM_CREATED_LEAD"]
    card.click("answer")
    card.wait_for_command("CallCardSetUiState", uiState="connected")
    card.click("qualityMeter", "5")
    card.click("addComment", "call back on Monday")
    card.click("hangup")
    finish = card.wait_for_rest(
        FINISH, VOTE="5", COST="0.25", COST_CURRENCY="EUR", ADD_TO_CHAT="0", STATUS_CODE="200"
    )
    activity = finish["answer"]["result"]["CRM_ACTIVITY_ID"]
    card.wait_for_rest("crm.activity.update", id=activity)
    assert card.frame.portal.activities[activity]["DESCRIPTION"] == "call back on Monday"

    card.softphone.ring("+15550003344")
    card.wait_for_rest(REGISTER, PHONE_NUMBER="+15550003344")  # its card opens
    card.click("skip")
    card.wait_for_rest(FINISH, STATUS_CODE="304")
    assert card.frame.python_errors() == []
