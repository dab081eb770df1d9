"""Spec section 3: every BX24.placement.call command, its result shapes and its errors."""

import pytest

from stub_helpers import CARD_UNDEFINED, UI_STATES, call, card, desktop, probe, raise_call

CARD_COMMANDS = [
    ("CallCardSetMute", {"muted": True}),
    ("CallCardSetHold", {"held": True}),
    ("CallCardSetUiState", {"uiState": "connected"}),
    ("CallCardSetCardTitle", {"title": "Acme"}),
    ("CallCardSetStatusText", {"statusText": "Talking"}),
    ("CallCardStartTimer", {}),
    ("CallCardStopTimer", {}),
    ("CallCardClose", {}),
]


def test_get_list_ui_states_answers_the_12_states_without_a_card(card_page):
    assert card(card_page) is None
    assert call(card_page, "CallCardGetListUiStates") == UI_STATES


def test_get_list_ui_states_works_with_params_omitted(card_page):
    assert call(card_page, "CallCardGetListUiStates", omit_params=True) == UI_STATES


@pytest.mark.parametrize("command, params", CARD_COMMANDS)
def test_every_card_command_before_initialized_is_card_undefined(card_page, command, params):
    # Timer commands included: the error does arrive in the browser.
    assert call(card_page, command, params) == CARD_UNDEFINED


@pytest.mark.parametrize("command, params", CARD_COMMANDS)
def test_every_card_command_after_close_is_card_undefined(card_page, command, params):
    raise_call(card_page, options={"uiState": "connected"})
    assert call(card_page, "CallCardClose") == []
    assert call(card_page, command, params) == CARD_UNDEFINED
    assert call(card_page, "CallCardGetListUiStates") == UI_STATES


@pytest.mark.parametrize("command, params", CARD_COMMANDS)
def test_every_card_command_after_close_button_is_card_undefined(card_page, command, params):
    raise_call(card_page, options={"uiState": "error"})
    card_page.evaluate("BX24Stub.click('close')")
    assert call(card_page, command, params) == CARD_UNDEFINED


@pytest.mark.parametrize("command, params", CARD_COMMANDS)
def test_a_card_not_raised_by_this_app_is_undefined_and_silent(card_page, command, params):
    raise_call(card_page, options={"uiState": "connected", "own": False})
    assert call(card_page, command, params) == CARD_UNDEFINED
    card_page.evaluate("BX24Stub.click('mute')")
    events = card_page.evaluate("BX24Stub.events()")
    assert events == [], "a foreign card must not send events, not even initialized"


def test_set_mute_mutes_the_card_without_a_click_event(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    assert call(card_page, "CallCardSetMute", {"muted": True}) == []
    assert card(card_page)["muted"] is True
    assert call(card_page, "CallCardSetMute", {"muted": False}) == []
    assert card(card_page)["muted"] is False
    fired = [e["event"] for e in card_page.evaluate("BX24Stub.events()")]
    assert fired == ["BackgroundCallCard::initialized"]


def test_set_hold_holds_the_card_without_a_click_event(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    assert call(card_page, "CallCardSetHold", {"held": True}) == []
    assert card(card_page)["held"] is True
    assert call(card_page, "CallCardSetHold", {"held": False}) == []
    assert card(card_page)["held"] is False
    fired = [e["event"] for e in card_page.evaluate("BX24Stub.events()")]
    assert fired == ["BackgroundCallCard::initialized"]


@pytest.mark.parametrize(
    "command, field", [("CallCardSetMute", "muted"), ("CallCardSetHold", "held")]
)
@pytest.mark.parametrize("value", [True, False])
def test_mute_and_hold_to_the_current_state_are_no_ops_answering_empty(
    card_page, command, field, value
):
    raise_call(card_page, options={"uiState": "connected"})
    call(card_page, command, {field: value})
    before = card(card_page)
    assert call(card_page, command, {field: value}) == []
    assert card(card_page) == before


@pytest.mark.parametrize("state", UI_STATES)
def test_set_ui_state_accepts_each_state(card_page, state):
    raise_call(card_page)
    assert call(card_page, "CallCardSetUiState", {"uiState": state}) == []
    assert card(card_page)["state"] == state


@pytest.mark.parametrize(
    "params", [{"uiState": "talking"}, {"uiState": "CONNECTED"}, {"uiState": 5}, {}]
)
def test_set_ui_state_refuses_anything_else(card_page, params):
    raise_call(card_page)
    assert call(card_page, "CallCardSetUiState", params) == [
        {"result": "error", "errorCode": "Invalid ui state"}
    ]
    assert card(card_page)["state"] == "incoming"


def test_set_card_title(card_page):
    raise_call(card_page)
    assert call(card_page, "CallCardSetCardTitle", {"title": "Acme Ltd"}) == []
    assert card(card_page)["title"] == "Acme Ltd"


def test_set_status_text(card_page):
    raise_call(card_page)
    assert call(card_page, "CallCardSetStatusText", {"statusText": "VIP client"}) == []
    assert card(card_page)["statusText"] == "VIP client"


@pytest.mark.parametrize(
    "command, running", [("CallCardStartTimer", True), ("CallCardStopTimer", False)]
)
def test_timer_commands_give_no_callback_in_the_browser(card_page, command, running):
    raise_call(card_page, options={"uiState": "connected" if not running else "incoming"})
    outcome = probe(card_page, command)
    assert outcome["answered"] is False
    assert card(card_page)["timer"]["running"] is running
    recorded = card_page.evaluate("BX24Stub.commands()")[0]
    assert recorded["command"] == command and recorded["answered"] is False and recorded["silent"]


@pytest.mark.parametrize("command", ["CallCardStartTimer", "CallCardStopTimer"])
def test_timer_commands_answer_empty_in_the_desktop_app(card_page, command):
    desktop(card_page)
    raise_call(card_page, options={"uiState": "connected"})
    assert call(card_page, command) == []


def test_close_answers_empty_and_closes_the_card(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    assert call(card_page, "CallCardClose") == []
    snapshot = card(card_page)
    assert snapshot["closed"] is True and snapshot["active"] is False
    assert snapshot["timer"]["running"] is False


def test_unknown_command_is_silently_ignored(card_page):
    raise_call(card_page)
    outcome = probe(card_page, "CallCardExplode", {"now": True})
    assert outcome["answered"] is False
    recorded = card_page.evaluate("BX24Stub.commands()")[0]
    assert recorded["command"] == "CallCardExplode"
    assert recorded["silent"] == "unknown command"


@pytest.mark.parametrize(
    "command, params, answer",
    [
        ("CallCardSetMute", {}, {"result": "error", "errorCode": "missing field muted"}),
        ("CallCardSetHold", {}, [{"result": "error", "errorCode": "missing field held"}]),
        ("CallCardSetCardTitle", {}, [{"result": "error", "errorCode": "missing field title"}]),
        (
            "CallCardSetStatusText",
            {},
            [{"result": "error", "errorCode": "missing field statusText"}],
        ),
    ],
)
def test_desktop_app_reports_missing_fields(card_page, command, params, answer):
    desktop(card_page)
    raise_call(card_page, options={"uiState": "connected"})
    before = card(card_page)
    assert call(card_page, command, params) == answer
    assert card(card_page) == before


def test_desktop_app_sees_a_map_as_a_missing_field(card_page):
    # Params cross postMessage as JSON: a JS Map (what a naive Pyodide to_js gives) arrives as {}.
    desktop(card_page)
    raise_call(card_page, options={"uiState": "connected"})
    answer = card_page.evaluate(
        "T.call('CallCardSetMute', new Map([['muted', true]])).then(a => a.result)"
    )
    assert answer == {"result": "error", "errorCode": "missing field muted"}
    assert card(card_page)["muted"] is False


def test_commands_are_recorded_with_params_time_and_result(card_page):
    raise_call(card_page)
    call(card_page, "CallCardSetCardTitle", {"title": "A"})
    call(card_page, "CallCardSetUiState", {"uiState": "bogus"})
    recorded = card_page.evaluate("BX24Stub.commands()")
    assert [(c["command"], c["params"], c["result"]) for c in recorded] == [
        ("CallCardSetCardTitle", {"title": "A"}, []),
        (
            "CallCardSetUiState",
            {"uiState": "bogus"},
            [{"result": "error", "errorCode": "Invalid ui state"}],
        ),
    ]
    assert 0 < recorded[0]["time"] <= recorded[1]["time"]
    assert all(c["callback"] and c["answered"] for c in recorded)


def test_a_command_without_callback_still_acts(card_page):
    raise_call(card_page)
    card_page.evaluate("BX24.placement.call('CallCardSetCardTitle', {title: 'no callback'})")
    assert card(card_page)["title"] == "no callback"
    recorded = card_page.evaluate("BX24Stub.commands()")[0]
    assert recorded["callback"] is False and recorded["answered"] is False
