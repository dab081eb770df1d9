"""Spec section 4: each card state shows exactly its buttons, and clicks fire the right events."""

import pytest
from playwright.sync_api import Error as PlaywrightError

from stub_helpers import UI_STATES, call, card, click, events, raise_call, received

P = "BackgroundCallCard::"

# The spec's table, written out here so the stub's own table cannot drift unnoticed.
SPEC_BUTTONS = {
    "incoming": {"answer": "answerButtonClick", "skip": "skipButtonClick"},
    "transferIncoming": {"answer": "answerButtonClick", "skip": "skipButtonClick"},
    "outgoing": {"makeCall": "makeCallButtonClick"},
    "connectingIncoming": {"hangup": "hangupButtonClick"},
    "connectingOutgoing": {"hangup": "hangupButtonClick"},
    "connected": {
        "hangup": "hangupButtonClick",
        "hold": "holdButtonClick",
        "mute": "muteButtonClick",
        "transfer": "transferButtonClick",
        "dialpad": "dialpadButtonClick",
        "qualityMeter": "qualityMeterClick",
    },
    "transferring": {
        "completeTransfer": "completeTransferButtonClick",
        "cancelTransfer": "cancelTransferButtonClick",
    },
    "transferFailed": {"cancelTransfer": "cancelTransferButtonClick"},
    "transferConnected": {"hangup": "hangupButtonClick"},
    "error": {"close": "closeButtonClick"},
    "moneyError": {"notifyAdmin": "notifyAdminButtonClick", "close": "closeButtonClick"},
    "redial": {"makeCall": "makeCallButtonClick"},
}
ALL_BUTTONS = sorted({b for buttons in SPEC_BUTTONS.values() for b in buttons})
# The argument a click takes and the payload the frame's handler then gets.
CLICK_ARGS = {
    "mute": ([], True),
    "hold": ([], True),
    "transfer": (["17"], {"phoneNumber": "+15551234567", "target": "17"}),
    "dialpad": (["#"], "#"),
    "qualityMeter": ([4], "4"),
}
NO_ARGUMENT = []  # an event without argument arrives as [] (an empty postMessage answer)


def test_the_table_covers_every_state():
    assert sorted(SPEC_BUTTONS) == sorted(UI_STATES)


@pytest.mark.parametrize("state", UI_STATES)
def test_each_state_shows_exactly_its_buttons(card_page, state):
    raise_call(card_page, options={"uiState": state})
    assert sorted(card(card_page)["buttons"]) == sorted([*SPEC_BUTTONS[state], "addComment"])


@pytest.mark.parametrize(
    "state, button",
    [(state, button) for state, buttons in SPEC_BUTTONS.items() for button in buttons],
)
def test_each_shown_button_fires_its_event(card_page, state, button):
    raise_call(card_page, {"PHONE_NUMBER": "+15551234567"}, {"uiState": state})
    args, payload = CLICK_ARGS.get(button, ([], NO_ARGUMENT))
    click(card_page, button, *args)
    event = P + SPEC_BUTTONS[state][button]
    assert received(card_page, event) == [payload]
    assert [e["event"] for e in events(card_page)] == [P + "initialized", event]


@pytest.mark.parametrize("state", UI_STATES)
def test_buttons_not_shown_are_refused_with_the_shown_ones_listed(card_page, state):
    raise_call(card_page, options={"uiState": state})
    for button in ALL_BUTTONS:
        if button in SPEC_BUTTONS[state]:
            continue
        with pytest.raises(PlaywrightError) as refused:
            click(card_page, button, *CLICK_ARGS.get(button, ([], None))[0])
        message = str(refused.value)
        assert f'"{button}" is not shown in state "{state}"' in message
        for shown in SPEC_BUTTONS[state]:
            assert shown in message
    assert [e["event"] for e in events(card_page)] == [P + "initialized"]


def test_clicks_need_a_card(card_page):
    with pytest.raises(PlaywrightError, match="raise a call first"):
        click(card_page, "answer")


def test_a_closed_card_takes_no_clicks(card_page):
    raise_call(card_page, options={"uiState": "error"})
    click(card_page, "close")
    assert card(card_page)["closed"] is True
    with pytest.raises(PlaywrightError, match="closed"):
        click(card_page, "addComment", "late")


def test_hangup_leaves_the_card_to_the_app(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    click(card_page, "hangup")
    assert card(card_page)["state"] == "connected" and card(card_page)["active"] is True


def test_comment_is_not_tied_to_a_state(card_page):
    for state in UI_STATES:
        raise_call(card_page, options={"uiState": state})
        click(card_page, "addComment", f"note in {state}")
    payloads = received(card_page, P + "addCommentButtonClick", len(UI_STATES))
    assert payloads == [f"note in {state}" for state in UI_STATES]


@pytest.mark.parametrize("state", ["incoming", "connected", "error"])
def test_next_is_shown_in_call_list_mode_only(card_page, state):
    raise_call(card_page, {"CALL_LIST_MODE": True}, {"uiState": state})
    assert "next" in card(card_page)["buttons"]
    click(card_page, "next")
    assert received(card_page, P + "nextButtonClick") == [NO_ARGUMENT]
    raise_call(card_page, {"CALL_LIST_MODE": False}, {"uiState": state})
    with pytest.raises(PlaywrightError, match="not shown"):
        click(card_page, "next")


def test_transfer_is_hidden_in_call_list_mode(card_page):
    raise_call(card_page, {"CALL_LIST_MODE": True}, {"uiState": "connected"})
    assert "transfer" not in card(card_page)["buttons"]
    with pytest.raises(PlaywrightError, match="call-list mode"):
        click(card_page, "transfer", "17")


def test_transfer_is_hidden_on_a_transferred_call(card_page):
    raise_call(card_page, options={"uiState": "transferIncoming"})
    call(card_page, "CallCardSetUiState", {"uiState": "connected"})
    assert "transfer" not in card(card_page)["buttons"]
    raise_call(card_page, options={"uiState": "connected", "transferred": True})
    assert "transfer" not in card(card_page)["buttons"]


@pytest.mark.parametrize(
    "button, command, field",
    [("mute", "CallCardSetMute", "muted"), ("hold", "CallCardSetHold", "held")],
)
def test_mute_and_hold_clicks_ask_for_the_opposite_state_and_change_nothing(
    card_page, button, command, field
):
    raise_call(card_page, options={"uiState": "connected"})
    click(card_page, button)
    assert card(card_page)[field] is False, "a click only asks; the app sets the state"
    call(card_page, command, {field: True})
    click(card_page, button)
    click(card_page, button, True)
    event = P + f"{button}ButtonClick"
    assert received(card_page, event, 3) == [True, False, True]


@pytest.mark.parametrize(
    "button, arg",
    [
        ("dialpad", "A"),
        ("dialpad", "12"),
        ("qualityMeter", 6),
        ("qualityMeter", 0),
        ("mute", "yes"),
        ("addComment", 5),
    ],
)
def test_clicks_with_impossible_arguments_are_refused(card_page, button, arg):
    raise_call(card_page, options={"uiState": "connected"})
    with pytest.raises(PlaywrightError, match="BX24 stub"):
        click(card_page, button, arg)


def test_transfer_needs_a_target(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    with pytest.raises(PlaywrightError, match="target"):
        click(card_page, "transfer")


@pytest.mark.parametrize(
    "overrides, state",
    [
        ({"CALL_DIRECTION": "incoming", "CALL_STATE": "idle"}, "incoming"),
        ({"CALL_DIRECTION": "outgoing", "CALL_STATE": "idle"}, "outgoing"),
        ({"CALL_DIRECTION": "incoming", "CALL_STATE": "connecting"}, "connectingIncoming"),
        ({"CALL_DIRECTION": "outgoing", "CALL_STATE": "connecting"}, "connectingOutgoing"),
        ({"CALL_DIRECTION": "incoming", "CALL_STATE": "connected"}, "connected"),
    ],
)
def test_a_raised_call_starts_in_the_state_its_direction_and_state_imply(
    card_page, overrides, state
):
    raise_call(card_page, overrides)
    snapshot = card(card_page)
    assert snapshot["state"] == state
    assert snapshot["timer"]["running"] is (state == "connected")
    assert (snapshot["muted"], snapshot["held"], snapshot["closed"], snapshot["active"]) == (
        False,
        False,
        False,
        True,
    )
