"""The kit's reference, written from the kit itself: its fixtures, the card handle, the buttons
``click()`` takes and the events ``fire()`` takes, the fake portal, the portal stand-ins' pages,
the event sender, and the example tests ``bx24 new`` writes (which CI runs). So the reference
cannot say what the code does not:

    python -m bx24_testing.reference > docs/testing.md

(this repository's tests compare docs/testing.md with it).
"""

from __future__ import annotations

import inspect
from pathlib import Path

TEMPLATE_TESTS = Path(__file__).resolve().parents[1] / "bx24_frame" / "template" / "tests"

# What each button's click takes as ``arg`` (the card model checks it: cardmodel.Card._payload).
BUTTON_ARGS = {
    "mute": "True/False: the wanted state (default: the other one)",
    "hold": "True/False: the wanted state (default: the other one)",
    "transfer": "the target: an employee id (digits) or a phone number",
    "dialpad": "one key: 0-9, * or #",
    "qualityMeter": "the rating, 1 to 5",
    "addComment": "the comment's text",
}


def _doc(obj) -> str:
    text = inspect.getdoc(obj) or ""
    return text.strip()


def _signature(function) -> str:
    try:
        signature = str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"
    return signature.replace("(self, ", "(").replace("(self)", "()")


def _methods(cls) -> list[str]:
    out = []
    for name, member in cls.__dict__.items():
        if name.startswith("_") or not callable(member) and not isinstance(member, property):
            continue
        if isinstance(member, property):
            out.append(f"- `{name}`: {_doc(member) or '(a property)'}")
            continue
        out.append(f"- `{name}{_signature(member)}`: {_doc(member) or '(undocumented)'}")
    return out


def _fixtures() -> list[str]:
    from . import plugin

    out = []
    for name, value in vars(plugin).items():
        if name.startswith("bx24_") and not name.startswith("_") and _doc(value):
            out.append(f"- `{name}`: {_doc(value)}")
    return out


def _examples() -> list[str]:
    out = []
    for path in sorted(TEMPLATE_TESTS.glob("test_*.py")):
        out += [f"### tests/{path.name}", "", "```python", path.read_text().rstrip(), "```", ""]
    return out


def render() -> str:
    """docs/testing.md."""
    from bx24.events import EVENTS, NO_PAYLOAD

    from . import events, fake, frame, micropython, sip, turn
    from .bitrix24 import Portal
    from .card import StandInPhone, StubCard
    from .cardmodel import BUTTON_ALIASES, BUTTON_EVENTS

    lines = [
        "# Testing reference",
        "",
        "Generated from the kit by `python -m bx24_testing.reference` (do not edit: edit the "
        "docstrings). The README's *Testing your frame* tells the story; this is every piece.",
        "",
        "## Fixtures (`bx24_testing.plugin`)",
        "",
        *_fixtures(),
        "",
        "Markers: `bx24_allow_python_errors` (a Python exception left unhandled in the frame "
        "does not fail the test), `bx24_allow_duplicate_calls` (nor does a call registered or "
        "finished twice).",
        "",
        "## The card: `bx24_card` (`bx24_testing.card.StubCard`)",
        "",
        _doc(StubCard),
        "",
        *_methods(StubCard),
        "",
        "`bx24_card.softphone` (`StandInPhone`): the other side of the app's softphone.",
        "",
        *_methods(StandInPhone),
        "",
        "### Buttons `click(button, arg)` takes",
        "",
        "| button | fires | `arg` |",
        "|---|---|---|",
        *[
            f"| `{name}` | `{event}` | {BUTTON_ARGS.get(name, 'none')} |"
            for name, event in BUTTON_EVENTS.items()
        ],
        "",
        "Also by their event's name, and these aliases: "
        + ", ".join(f"`{alias}` = `{name}`" for alias, name in BUTTON_ALIASES.items())
        + ". A button "
        "the card does not show in its state is refused, with the buttons it shows.",
        "",
        "### Events `fire(event, payload)` takes",
        "",
        ", ".join(f"`{name}`" for name in EVENTS) + " (with or without `BackgroundCallCard::`). "
        "These carry nothing: " + ", ".join(f"`{name}`" for name in NO_PAYLOAD) + ". Any "
        "payload goes, malformed ones included (that is what `fire` is for); an unknown event "
        "is refused with this list.",
        "",
        "## A portal page: `bx24_portal_page` (`bx24_testing.frame.PortalPage`)",
        "",
        f"`open_portal_page{_signature(frame.open_portal_page)}`: {_doc(frame.open_portal_page)}",
        "",
        *_methods(frame.PortalPage),
        "",
        f"`open_frame{_signature(frame.open_frame)}`: {_doc(frame.open_frame)}",
        "",
        "### A loaded frame (`bx24_testing.frame.LoadedFrame`: `bx24_card.frame`)",
        "",
        _doc(frame.LoadedFrame),
        "",
        *_methods(frame.LoadedFrame),
        "",
        "## The portal: `bx24_portal` (`bx24_testing.bitrix24.Portal`)",
        "",
        _doc(Portal),
        "",
        *_methods(Portal),
        "",
        "## Unit tests without a browser: `bx24_testing.fake`",
        "",
        _doc(fake.FakePortal),
        "",
        *_methods(fake.FakePortal),
        "",
        f"`run{_signature(fake.run)}`: {_doc(fake.run)}",
        "",
        "### The app under MicroPython: `bx24_testing.micropython`",
        "",
        _doc(micropython),
        "",
        f"`MicroPythonApp` (`portal.micropython`): {_doc(micropython.MicroPythonApp)}",
        "",
        *_methods(micropython.MicroPythonApp),
        "",
        "### The application's pages in CPython: `FakePortal.app_page()`",
        "",
        _doc(fake.RecordingView),
        "",
        *_methods(fake.RecordingView),
        "",
        "### The SIP phone in CPython: `bx24_testing.fake.FakeSipPhone`",
        "",
        _doc(fake.FakeSipPhone),
        "",
        *_methods(fake.FakeSipPhone),
        "",
        "## Real servers: `bx24_testing.sip` (Kamailio), `bx24_testing.turn` (coturn)",
        "",
        _doc(sip),
        "",
        f"`SipServer{_signature(sip.SipServer)}`: {_doc(sip.SipServer)}",
        "",
        *_methods(sip.SipServer),
        "",
        f"`SipPhone`: {_doc(sip.SipPhone)}",
        "",
        *_methods(sip.SipPhone),
        "",
        f"`open_operator{_signature(sip.open_operator)}`: {_doc(sip.open_operator)}",
        "",
        f"`operator_phone{_signature(sip.operator_phone)}`: {_doc(sip.operator_phone)}",
        "",
        f"`PlainPhone{_signature(sip.PlainPhone)}`: {_doc(sip.PlainPhone)}",
        "",
        *_methods(sip.PlainPhone),
        "",
        _doc(turn),
        "",
        f"`TurnServer{_signature(turn.TurnServer)}`: {_doc(turn.TurnServer)}",
        "",
        *_methods(turn.TurnServer),
        "",
        "## Bitrix24's events for a server under test: `bx24_testing.events`",
        "",
        *[
            f"- `{name}{_signature(function)}`: {_doc(function)}"
            for name, function in vars(events).items()
            if inspect.isfunction(function) and function.__module__ == events.__name__
        ],
        "",
        "## Examples (what `bx24 new` writes; run in CI)",
        "",
        *_examples(),
    ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
