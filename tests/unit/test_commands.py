"""Every command: what it sends, what each answer shape becomes, argument checks, timeouts."""

import pytest

from bx24 import (
    UI_STATES,
    CardUndefinedError,
    CommandError,
    CommandTimeoutError,
    InvalidUiStateError,
    MissingFieldError,
    UnexpectedResultError,
)
from fake_bridge import run

CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]

# (method name, args, kwargs, command, params)
SENDS = [
    ("set_mute", (True,), {}, "CallCardSetMute", {"muted": True}),
    ("set_mute", (False,), {}, "CallCardSetMute", {"muted": False}),
    ("set_hold", (True,), {}, "CallCardSetHold", {"held": True}),
    ("set_hold", (False,), {}, "CallCardSetHold", {"held": False}),
    ("set_ui_state", ("connected",), {}, "CallCardSetUiState", {"uiState": "connected"}),
    (
        "set_ui_state",
        ("connected",),
        {"auto_start_timer": False},
        "CallCardSetUiState",
        {"uiState": "connected", "disableAutoStartTimer": True},
    ),
    (
        "set_title",
        ("Incoming call +7 999",),
        {},
        "CallCardSetCardTitle",
        {"title": "Incoming call +7 999"},
    ),
    ("set_status_text", ("Ringing",), {}, "CallCardSetStatusText", {"statusText": "Ringing"}),
    ("start_timer", (), {}, "CallCardStartTimer", {}),
    ("stop_timer", (), {}, "CallCardStopTimer", {}),
    ("close", (), {}, "CallCardClose", {}),
]
NON_TIMER = [s for s in SENDS if s[3] not in ("CallCardStartTimer", "CallCardStopTimer")]


@pytest.mark.parametrize("method,args,kwargs,command,params", SENDS)
def test_each_command_sends_its_bitrix24_name_and_params(
    card, bridge, method, args, kwargs, command, params
):
    bridge.answer(command, [])
    assert run(getattr(card, method)(*args, **kwargs)) is None
    assert bridge.sent == [(command, params, bridge.sent[0][2])]


def test_ui_states_returns_the_list(card, bridge):
    bridge.answer("CallCardGetListUiStates", list(UI_STATES))
    assert run(card.ui_states()) == list(UI_STATES)
    assert bridge.sent[0][:2] == ("CallCardGetListUiStates", {})


@pytest.mark.parametrize("answer", [{"a": 1}, "nope", [1, 2], None])
def test_ui_states_with_an_unexpected_answer_keeps_it(card, bridge, answer):
    bridge.answer("CallCardGetListUiStates", answer)
    with pytest.raises(UnexpectedResultError) as caught:
        run(card.ui_states())
    assert caught.value.raw == answer


@pytest.mark.parametrize(
    "method,args,kwargs,command,params",
    SENDS + [("ui_states", (), {}, "CallCardGetListUiStates", {})],
)
def test_card_undefined_raises_for_every_command(
    card, bridge, method, args, kwargs, command, params
):
    bridge.answer(command, CARD_UNDEFINED)
    with pytest.raises(CardUndefinedError) as caught:
        run(getattr(card, method)(*args, **kwargs))
    error = caught.value
    assert (error.command, error.code, error.raw) == (
        command,
        "Call card is undefined",
        CARD_UNDEFINED,
    )
    assert command in str(error)


def test_invalid_ui_state_answer(card, bridge):
    raw = [{"result": "error", "errorCode": "Invalid ui state"}]
    bridge.answer("CallCardSetUiState", raw)
    with pytest.raises(InvalidUiStateError) as caught:
        run(card.set_ui_state("redial"))
    assert caught.value.raw == raw


@pytest.mark.parametrize(
    "method,arg,command,field,raw",
    [
        (
            "set_hold",
            True,
            "CallCardSetHold",
            "held",
            [{"result": "error", "errorCode": "missing field held"}],
        ),
        (
            "set_title",
            "t",
            "CallCardSetCardTitle",
            "title",
            [{"result": "error", "errorCode": "missing field title"}],
        ),
        (
            "set_status_text",
            "s",
            "CallCardSetStatusText",
            "statusText",
            [{"result": "error", "errorCode": "missing field statusText"}],
        ),
        # the desktop app's one bare-object answer
        (
            "set_mute",
            True,
            "CallCardSetMute",
            "muted",
            {"result": "error", "errorCode": "missing field muted"},
        ),
    ],
)
def test_missing_field_in_both_shapes(card, bridge, method, arg, command, field, raw):
    bridge.answer(command, raw)
    with pytest.raises(MissingFieldError) as caught:
        run(getattr(card, method)(arg))
    assert (caught.value.field, caught.value.raw, caught.value.command) == (field, raw, command)


@pytest.mark.parametrize(
    "raw,code",
    [
        ([{"result": "error", "errorCode": "Something new"}], "Something new"),
        ({"result": "error", "errorCode": "Bare and new"}, "Bare and new"),
        ([{"result": "error"}], None),
    ],
)
def test_unknown_errors_keep_code_and_raw_data(card, bridge, raw, code):
    bridge.answer("CallCardSetCardTitle", raw)
    with pytest.raises(CommandError) as caught:
        run(card.set_title("x"))
    error = caught.value
    assert type(error) is CommandError
    assert (error.code, error.raw) == (code, raw)


@pytest.mark.parametrize(
    "method,args,kwargs,command,params",
    NON_TIMER + [("ui_states", (), {}, "CallCardGetListUiStates", {})],
)
def test_no_answer_is_a_timeout_naming_the_command(
    card, bridge, method, args, kwargs, command, params
):
    card.timeout = 2.5
    bridge.silence(command)
    with pytest.raises(CommandTimeoutError) as caught:
        run(getattr(card, method)(*args, **kwargs))
    assert caught.value.command == command
    assert command in str(caught.value) and "2.5" in str(caught.value)
    assert bridge.sent[0][2] == 2500  # the bridge waits exactly the timeout


def test_default_timeout_is_a_few_seconds(card, bridge):
    run(card.set_title("x"))
    assert 1000 <= bridge.sent[0][2] <= 10000


@pytest.mark.parametrize(
    "method,command", [("start_timer", "CallCardStartTimer"), ("stop_timer", "CallCardStopTimer")]
)
def test_timer_without_callback_succeeds_after_the_grace_period(card, bridge, method, command):
    card.timer_grace = 0.25
    bridge.silence(command)
    assert run(getattr(card, method)()) is None
    assert bridge.sent == [(command, {}, 250)]


@pytest.mark.parametrize(
    "method,command", [("start_timer", "CallCardStartTimer"), ("stop_timer", "CallCardStopTimer")]
)
def test_timer_answered_empty_list_succeeds_too(card, bridge, method, command):
    bridge.answer(command, [])  # the desktop application's answer
    assert run(getattr(card, method)()) is None


def test_answer_without_argument_counts_as_success(card, bridge):
    bridge.answer("CallCardSetMute")  # callback(undefined)
    run(card.set_mute(True))
    assert card.muted is True


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda c: c.set_mute(1), TypeError),
        (lambda c: c.set_mute("true"), TypeError),
        (lambda c: c.set_mute(None), TypeError),
        (lambda c: c.set_hold(0), TypeError),
        (lambda c: c.set_title(None), TypeError),
        (lambda c: c.set_title(5), TypeError),
        (lambda c: c.set_status_text(b"x"), TypeError),
        (lambda c: c.set_ui_state("talking"), ValueError),
        (lambda c: c.set_ui_state("Connected"), ValueError),
        (lambda c: c.set_ui_state(None), ValueError),
        (lambda c: c.set_ui_state("connected", auto_start_timer="no"), TypeError),
    ],
)
def test_bad_arguments_are_refused_before_sending(card, bridge, call, error):
    with pytest.raises(error):
        run(call(card))
    assert bridge.sent == []


def test_unknown_ui_state_error_lists_the_valid_ones(card):
    with pytest.raises(ValueError) as caught:
        run(card.set_ui_state("talking"))
    for state in UI_STATES:
        assert state in str(caught.value)


@pytest.mark.parametrize("state", UI_STATES)
def test_every_ui_state_is_accepted(card, bridge, state):
    run(card.set_ui_state(state))
    assert bridge.sent[0][1] == {"uiState": state}


@pytest.mark.parametrize("value", [0, -1, "5", None, True])
def test_timeouts_must_be_positive_numbers(card, value):
    with pytest.raises(ValueError):
        card.timeout = value
    with pytest.raises(ValueError):
        card.timer_grace = value
