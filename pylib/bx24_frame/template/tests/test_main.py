"""Tests of frame/main.py in Chromium, through the bx24 pytest plugin's fixtures.

``bx24_card`` loads the frame the way Bitrix24 does (an HTTP POST, cross-site), with a BX24
stub in place of Bitrix24's library and REST server, once per interpreter in pytest.ini's
``bx24_interpreters``. The app's SIP softphone gets a stand-in phone there (it registers at
once; no SIP server needed), and ``bx24_card.softphone`` plays the other side (a caller rings,
the callee picks up or hangs up); ``click`` presses the card's buttons; the
waits look at what the frame sent since the test's last action.
"""

import pytest


def test_an_incoming_call_opens_the_card(bx24_card):
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_rest(
        "telephony.externalcall.register", PHONE_NUMBER="+15550001122", TYPE=2, SHOW=1
    )
    bx24_card.wait_for_command("CallCardSetCardTitle", title="Incoming call +15550001122")
    bx24_card.wait_for_command("CallCardSetStatusText", statusText="Line line1")


def test_answer_mute_and_hang_up(bx24_card):
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_command("CallCardSetCardTitle")
    bx24_card.click("answer")
    bx24_card.wait_for_command("CallCardSetUiState", uiState="connected")
    assert bx24_card.state()["timer"]["running"]

    bx24_card.click("mute")
    bx24_card.wait_for_command("CallCardSetMute", muted=True)

    bx24_card.click("hangup")
    bx24_card.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    bx24_card.wait_for_command("CallCardClose")
    assert bx24_card.state()["closed"]


def test_a_call_nobody_answers_is_missed(bx24_card):
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_command("CallCardSetCardTitle")
    bx24_card.softphone.hang_up()  # the caller gives up
    bx24_card.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="304", DURATION=0)


def test_a_button_the_state_does_not_show_is_refused(bx24_card):
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_command("CallCardSetCardTitle")  # incoming: answer and skip only
    with pytest.raises(AssertionError, match='not shown in state "incoming"'):
        bx24_card.click("mute")


def test_the_duration_runs_from_the_answer(bx24_card, bx24_clock):
    """``bx24_clock`` is Playwright's clock in the frame, installed before it loads."""
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_command("CallCardSetCardTitle")
    bx24_card.click("answer")
    bx24_card.wait_for_command("CallCardSetUiState", uiState="connected")
    bx24_clock.fast_forward(42_000)  # 42 s of talk, at once
    bx24_card.click("hangup")
    finish = bx24_card.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="200")
    assert 42 <= int(finish["params"]["DURATION"]) <= 43


def test_the_sip_link_is_said_on_the_card_of_the_call_in_progress(bx24_card):
    bx24_card.softphone.ring("+15550001122")
    bx24_card.wait_for_command("CallCardSetCardTitle")
    bx24_card.click("answer")
    bx24_card.wait_for_command("CallCardSetStatusText", statusText="Talking")
    bx24_card.softphone.refuse_registration(403)  # a refresh refused mid-call
    bx24_card.wait_for_command(
        "CallCardSetStatusText",
        statusText="Softphone offline: the SIP server refused the operator (403)",
    )
    bx24_card.softphone.register_again()
    bx24_card.wait_for_command("CallCardSetStatusText", statusText="Talking")
    bx24_card.softphone.drop_link(network=True)
    bx24_card.wait_for_command(
        "CallCardSetStatusText", statusText="Softphone offline: this computer's network is down"
    )
