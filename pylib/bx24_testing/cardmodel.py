"""Bitrix24's call card as the kit plays it: one description, read by both of its cards.

The card lives in the portal's page; the kit has two of them: the BX24 stub's in the browser
(``bx24-stub.js``, which gets :func:`describe` as ``window.BX24_MODEL``) and :class:`Card` here,
for the CPython fake. Both take every fact from this module (the vocabulary from the ``bx24``
library itself, where it is written once), and one scenario table runs them side by side
(``tests/kit/test_one_model.py``): they cannot disagree without a test failing.

The facts (docs/bitrix24.md, "The call card"): the 12 UI states and the buttons each shows,
the event each button fires, which commands work without a card, the error answers and their
shapes (``missing field muted`` is a bare object, the others a list), the timer commands that
answer nothing on success in the browser, the transfer button hidden in call-list mode and on a
transferred call, the comment button everywhere.
"""

from __future__ import annotations

import json
import math

from bx24 import commands as _commands
from bx24 import events as _events

UI_STATES = list(_commands.UI_STATES)
COMMANDS = list(_commands.COMMANDS)
EVENTS = list(_events.EVENTS)
PREFIX = _events.PREFIX

STATE_BUTTONS = {
    "incoming": ["answer", "skip"],
    "transferIncoming": ["answer", "skip"],
    "outgoing": ["makeCall"],
    "connectingIncoming": ["hangup"],
    "connectingOutgoing": ["hangup"],
    "connected": ["hangup", "hold", "mute", "transfer", "dialpad", "qualityMeter"],
    "transferring": ["completeTransfer", "cancelTransfer"],
    "transferFailed": ["cancelTransfer"],
    "transferConnected": ["hangup"],
    "error": ["close"],
    "moneyError": ["notifyAdmin", "close"],
    "redial": ["makeCall"],
}
# Shown in every state (comments), and in call-list mode (next).
ALWAYS = ["addComment"]
CALL_LIST = ["next"]
BUTTON_EVENTS = {
    "answer": _events.ANSWER,
    "skip": _events.SKIP,
    "makeCall": _events.MAKE_CALL,
    "hangup": _events.HANGUP,
    "hold": _events.HOLD,
    "mute": _events.MUTE,
    "transfer": _events.TRANSFER,
    "dialpad": _events.DIALPAD,
    "qualityMeter": _events.QUALITY_METER,
    "completeTransfer": _events.COMPLETE_TRANSFER,
    "cancelTransfer": _events.CANCEL_TRANSFER,
    "close": _events.CLOSE,
    "notifyAdmin": _events.NOTIFY_ADMIN,
    "addComment": _events.ADD_COMMENT,
    "next": _events.NEXT,
}
BUTTON_ALIASES = {"comment": "addComment", "quality": "qualityMeter", "call": "makeCall"}

CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]
INVALID_UI_STATE = [{"result": "error", "errorCode": "Invalid ui state"}]
# The desktop application checks these fields; "bare": its error is not wrapped in a list.
REQUIRED_FIELDS = {
    _commands.SET_MUTE: ("muted", "bare"),
    _commands.SET_HOLD: ("held", "list"),
    _commands.SET_CARD_TITLE: ("title", "list"),
    _commands.SET_STATUS_TEXT: ("statusText", "list"),
}
WITHOUT_CARD = [_commands.GET_LIST_UI_STATES]
SILENT_IN_BROWSER = list(_commands.TIMER_COMMANDS)  # no callback at all on success
MODES = ("browser", "desktop")
DIALPAD_KEYS = _events.DIALPAD_KEYS
RATINGS = ["1", "2", "3", "4", "5"]


def describe() -> dict:
    """Everything above, for the stub (``window.BX24_MODEL``)."""
    return {
        "prefix": PREFIX,
        "uiStates": UI_STATES,
        "commands": COMMANDS,
        "events": EVENTS,
        "stateButtons": STATE_BUTTONS,
        "always": ALWAYS,
        "callList": CALL_LIST,
        "buttonEvents": BUTTON_EVENTS,
        "buttonAliases": BUTTON_ALIASES,
        "cardUndefined": CARD_UNDEFINED,
        "invalidUiState": INVALID_UI_STATE,
        "requiredFields": {k: list(v) for k, v in REQUIRED_FIELDS.items()},
        "withoutCard": WITHOUT_CARD,
        "silentInBrowser": SILENT_IN_BROWSER,
        "dialpadKeys": DIALPAD_KEYS,
        "ratings": RATINGS,
    }


class Refused(Exception):
    """A click the card would not take (the message says why, and what is shown)."""


class Timer:
    def __init__(self, clock):
        self.clock = clock
        self.running = False
        self.visible = False
        self.accumulated = 0.0
        self.since = 0.0

    @property
    def seconds(self) -> int:
        elapsed = self.accumulated + (self.clock() - self.since if self.running else 0.0)
        return math.floor(elapsed + 1e-9)

    def start(self):
        if not self.running:
            self.running, self.since = True, self.clock()
        self.visible = True

    def stop(self):
        if self.running:
            self.accumulated += self.clock() - self.since
            self.running = False

    def reset(self):
        self.running, self.visible, self.accumulated, self.since = False, False, 0.0, 0.0


class Card:
    """One call card, raised for ``call`` (the initialized payload). ``clock()`` gives
    seconds (the timer's), ``mode`` is ``"browser"`` or ``"desktop"``."""

    def __init__(
        self,
        call: dict,
        *,
        ui_state: str | None = None,
        own: bool = True,
        transferred: bool = False,
        clock=None,
        mode: str = "browser",
    ):
        if mode not in MODES:
            raise ValueError(f'mode must be "browser" or "desktop", got {mode!r}')
        self.call = dict(call)
        self.own = own
        self.call_list_mode = bool(call.get("CALL_LIST_MODE"))
        self.transferred = transferred
        self.muted = self.held = False
        self.title = self.status_text = ""
        self.closed = False
        self.mode = mode
        self.timer = Timer(clock or (lambda: 0.0))
        state = ui_state or initial_state(self.call)
        if state not in UI_STATES:
            raise ValueError(
                f'uiState "{state}" is not a card state; states: ' + ", ".join(UI_STATES)
            )
        self.state = state
        self._set_state(state, False)

    # -- what it shows ---------------------------------------------------------------------

    @property
    def manageable(self) -> bool:
        return not self.closed and self.own

    def buttons(self) -> list[str]:
        if self.closed:
            return []
        shown = [
            b
            for b in STATE_BUTTONS.get(self.state, [])
            if b != "transfer" or not (self.call_list_mode or self.transferred)
        ]
        return shown + ALWAYS + (CALL_LIST if self.call_list_mode else [])

    def snapshot(self) -> dict:
        """What the stub's ``BX24Stub.card()`` gives, key for key."""
        return {
            "state": self.state,
            "muted": self.muted,
            "held": self.held,
            "title": self.title,
            "statusText": self.status_text,
            "timer": {
                "running": self.timer.running,
                "seconds": self.timer.seconds,
                "visible": self.timer.visible,
            },
            "closed": self.closed,
            "active": self.manageable,
            "own": self.own,
            "callListMode": self.call_list_mode,
            "transferred": self.transferred,
            "buttons": self.buttons(),
            "call": dict(self.call),
        }

    # -- commands ------------------------------------------------------------------------------

    def command(self, command: str, params) -> tuple[str, object]:
        """``("answer", value)`` (what the callback gets) or ``("silent", why)`` (no callback
        at all)."""
        desktop = self.mode == "desktop"
        if command not in COMMANDS:
            return "silent", "unknown command"
        if command in WITHOUT_CARD:
            return "answer", list(UI_STATES)
        if not self.manageable:
            return "answer", CARD_UNDEFINED
        params = params if isinstance(params, dict) else {}
        required = REQUIRED_FIELDS.get(command)
        if required and desktop and params.get(required[0]) is None:
            error = {"result": "error", "errorCode": "missing field " + required[0]}
            return "answer", error if required[1] == "bare" else [error]
        if command == _commands.SET_MUTE:
            self.muted = bool(params.get("muted"))
        elif command == _commands.SET_HOLD:
            self.held = bool(params.get("held"))
        elif command == _commands.SET_UI_STATE:
            if params.get("uiState") not in UI_STATES:
                return "answer", INVALID_UI_STATE
            self._set_state(params["uiState"], bool(params.get("disableAutoStartTimer")))
        elif command == _commands.SET_CARD_TITLE:
            if params.get("title") is not None:
                self.title = _text(params["title"])
        elif command == _commands.SET_STATUS_TEXT:
            if params.get("statusText") is not None:
                self.status_text = _text(params["statusText"])
        elif command == _commands.START_TIMER:
            self.timer.start()
        elif command == _commands.STOP_TIMER:
            self.timer.stop()
        elif command == _commands.CLOSE:
            self.close()
        if command in SILENT_IN_BROWSER and not desktop:
            return "silent", "browser: no callback on timer success"
        return "answer", []

    def close(self) -> None:
        self.timer.stop()
        self.closed = True

    def _set_state(self, state: str, disable_auto_start: bool) -> None:
        self.state = state
        if state == "transferIncoming":
            self.transferred = True
        if state == "connected":
            if disable_auto_start:
                self.timer.reset()
            else:
                self.timer.start()
        else:
            self.timer.stop()

    # -- buttons ---------------------------------------------------------------------------------

    def click(self, button: str, arg=None) -> tuple[str | None, object]:
        """The event a click fires and its payload (``(None, None)`` on a card this
        application did not raise: Bitrix24 keeps its events to itself); :class:`Refused`
        when the card does not show that button now (or ``arg`` is not what it passes)."""
        name = button_name(button)
        if self.closed:
            raise Refused(f'the call card is closed: cannot click "{name}"')
        shown = self.buttons()
        if name not in shown:
            raise Refused(
                f'button "{name}" is not shown in state "{self.state}"'
                + (" (call-list mode)" if self.call_list_mode else "")
                + (" (transferred call)" if self.transferred else "")
                + "; shown: "
                + ", ".join(shown)
            )
        payload = self._payload(name, arg)
        if name == "close":
            self.close()
        return (BUTTON_EVENTS[name], payload) if self.own else (None, None)

    def _payload(self, name: str, arg):
        if name in ("mute", "hold"):
            if arg is None:
                return not (self.muted if name == "mute" else self.held)
            if not isinstance(arg, bool):
                wanted = "muted" if name == "mute" else "held"
                raise Refused(f"{name} click takes a boolean (wanted {wanted} state)")
            return arg
        if name == "transfer":
            if arg in (None, ""):
                raise Refused(
                    "transfer click needs a target: an employee id (digits) or a phone number"
                )
            return {"phoneNumber": self.call.get("PHONE_NUMBER") or "", "target": str(arg)}
        if name == "qualityMeter":
            if str(arg) not in RATINGS:
                raise Refused(f"quality rating must be 1..5, got {json.dumps(arg)}")
            return str(arg)
        if name == "dialpad":
            if len(str(arg)) != 1 or str(arg) not in DIALPAD_KEYS:
                raise Refused(f"dial pad key must be one of 0-9, * or #, got {json.dumps(arg)}")
            return str(arg)
        if name == "addComment":
            if not isinstance(arg, str):
                raise Refused("comment click takes the comment text")
            return arg
        return None


def button_name(button) -> str:
    """A button by its name, alias or event (``"mute"``, ``"call"``, ``"muteButtonClick"``)."""
    if not isinstance(button, str):
        raise Refused(f"button must be a string, got {json.dumps(button)}")
    if button in BUTTON_ALIASES:
        return BUTTON_ALIASES[button]
    for name, event in BUTTON_EVENTS.items():
        if button in (event, PREFIX + event):
            return name
    if button not in BUTTON_EVENTS:
        raise Refused(f'unknown button "{button}"; buttons: ' + ", ".join(BUTTON_EVENTS))
    return button


def initial_state(call: dict) -> str:
    incoming = call.get("CALL_DIRECTION") == "incoming"
    if call.get("CALL_STATE") == "connected":
        return "connected"
    if call.get("CALL_STATE") == "connecting":
        return "connectingIncoming" if incoming else "connectingOutgoing"
    return "incoming" if incoming else "outgoing"


def _text(value) -> str:
    """``String(value)`` as JavaScript writes it (what the stub stores)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)
