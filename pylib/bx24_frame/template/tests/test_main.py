"""Tests of frame/main.py in Chromium, through the bx24 pytest plugin's fixtures.

``bx24_card`` loads the frame the way Bitrix24 does (an HTTP POST), with a BX24 stub in place
of Bitrix24's library, once per interpreter in pytest.ini's ``bx24_interpreters``; it raises
calls, clicks the card's buttons and waits for the commands your Python sends back.
"""

import pytest


def test_card_shows_the_caller(bx24_card):
    bx24_card.raise_call(PHONE_NUMBER="+15550001122", LINE_NAME="Sales")
    bx24_card.wait_for_command("CallCardSetCardTitle", title="Incoming call +15550001122")
    bx24_card.wait_for_command("CallCardSetStatusText", statusText="Line Sales")


def test_unknown_number(bx24_card):
    bx24_card.raise_call(PHONE_NUMBER=None)  # Bitrix24 leaves the key out
    bx24_card.wait_for_command("CallCardSetCardTitle", title="Incoming call unknown number")


def test_answer_mute_and_hang_up(bx24_card):
    bx24_card.raise_call()
    bx24_card.click("answer")
    bx24_card.wait_for_command("CallCardSetUiState", uiState="connected")
    assert bx24_card.state()["timer"]["running"]

    bx24_card.click("mute")
    bx24_card.wait_for_command("CallCardSetMute", muted=True)
    assert bx24_card.state()["muted"] is True

    bx24_card.click("hangup")
    bx24_card.wait_for_command("CallCardClose")
    assert bx24_card.state()["closed"]


def test_a_button_the_state_does_not_show_is_refused(bx24_card):
    bx24_card.raise_call()  # incoming: answer and skip only
    with pytest.raises(AssertionError, match='not shown in state "incoming"'):
        bx24_card.click("mute")
