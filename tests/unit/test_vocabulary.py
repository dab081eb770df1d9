"""One vocabulary: the call card's commands, UI states and events are written in several
places on purpose (the stub stays independent of the library it tests), so every copy is
checked here against the list in docs/bitrix24.md, and that list against Bitrix24's facts
(the team's spec, when it is beside the repository)."""

import re
from pathlib import Path

import pytest

from bx24 import commands, events
from bx24_testing import fake
from bx24_testing.stub import EMULATOR_DIR

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "bitrix24.md"
SPEC = ROOT.parent / "shared" / "spec" / "bitrix24-call-card.md"
BRIDGE = ROOT / "pylib" / "bx24" / "bridge.js"
STUB = EMULATOR_DIR / "bx24-stub.js"
EMULATOR = EMULATOR_DIR / "emulator.js"


def documented(kind):
    """The names on the docs' line ``- <kind> (<n>): `a`, `b`...`` (it may wrap)."""
    text = DOCS.read_text()
    match = re.search(r"^- " + re.escape(kind) + r" \((\d+)\): (.*?)(?=^- |^\s*$)", text,
                      re.M | re.S)
    assert match, f"docs/bitrix24.md lost its {kind} line"
    names = re.findall(r"`([^`]+)`", match.group(2))
    assert len(names) == int(match.group(1)) == len(set(names))
    return names


def js_list(path, name):
    match = re.search(r"var " + name + r" = \[(.*?)\];", path.read_text(), re.S)
    assert match, f"{path.name} has no {name} list"
    return re.findall(r'"([^"]+)"', match.group(1))


def js_object(path, name):
    match = re.search(r"var " + name + r" = \{(.*?)\};", path.read_text(), re.S)
    assert match, f"{path.name} has no {name} object"
    return dict(re.findall(r'(\w+): "([^"]+)"', match.group(1)))


EVENTS = documented("Events")
UI_STATES = documented("UI states")
COMMANDS = documented("Commands")


def test_the_library_speaks_the_documented_names():
    assert list(events.EVENTS) == EVENTS
    assert list(commands.UI_STATES) == UI_STATES
    assert list(commands.COMMANDS) == COMMANDS


def test_the_bridge_binds_every_event():
    assert js_list(BRIDGE, "EVENTS") == EVENTS


def test_the_stub_knows_the_documented_names():
    assert js_list(STUB, "EVENT_NAMES") == EVENTS
    assert js_list(STUB, "UI_STATES") == UI_STATES
    assert js_list(STUB, "COMMANDS") == COMMANDS
    buttons = js_object(STUB, "BUTTON_EVENTS")
    assert set(buttons.values()) == set(EVENTS) - {"initialized", "entityChanged"}
    shown = re.search(r"var STATE_BUTTONS = \{(.*?)\};", STUB.read_text(), re.S).group(1)
    states = re.findall(r"^\s*(\w+): \[(.*?)\]", shown, re.M)
    assert [state for state, _ in states] == UI_STATES
    for state, names in states:
        assert set(re.findall(r'"(\w+)"', names)) <= set(buttons), state


def test_the_emulator_offers_every_event():
    assert sorted(js_list(EMULATOR, "events")) == sorted(EVENTS)


def test_the_fake_clicks_the_stubs_buttons():
    assert fake.BUTTON_EVENTS == js_object(STUB, "BUTTON_EVENTS")


@pytest.mark.skipif(not SPEC.is_file(), reason="the team's spec is not beside the repository")
def test_the_documented_names_are_bitrix24s():
    spec = SPEC.read_text()
    section = lambda n: spec.split(f"\n## {n}. ")[1].split("\n## ")[0]  # noqa: E731
    rows = lambda text: [line.split("|")[1] for line in text.splitlines()  # noqa: E731
                         if line.startswith("| `")]
    assert [re.findall(r"`(\w+)`", row)[0] for row in rows(section(4))] == UI_STATES
    spec_events = [name for row in rows(section(5)) for name in re.findall(r"`(\w+)`", row)]
    assert sorted(spec_events) == sorted(EVENTS)
    assert sorted(set(re.findall(r"`(CallCard\w+)`", section(3)))) == sorted(COMMANDS)
