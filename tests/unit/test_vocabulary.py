"""One vocabulary: the call card's commands, UI states and events are written once, in the bx24
library (bx24/commands.py, bx24/events.py), and everything else is derived from it: the page's
boot config hands the events to bridge.js, the kit's card description (bx24_testing/cardmodel.py)
hands them with the buttons and errors to the BX24 stub (window.BX24_MODEL), whose hello hands
them to the emulator, and the CPython fake reads the description itself. The docs' lists are
checked against the library, and that against Bitrix24's facts (the team's spec, when it is
beside the repository)."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from bx24 import commands, events
from bx24_testing import cardmodel, fake
from bx24_testing.stub import EMULATOR_DIR, model_script

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "bitrix24.md"
SPEC = ROOT.parent / "shared" / "spec" / "bitrix24-call-card.md"
BRIDGE = ROOT / "pylib" / "bx24" / "bridge.js"
STUB = EMULATOR_DIR / "bx24-stub.js"
EMULATOR = EMULATOR_DIR / "emulator.js"
FAKE = ROOT / "pylib" / "bx24_testing" / "fake.py"


def documented(kind):
    """The names on the docs' line ``- <kind> (<n>): `a`, `b`...`` (it may wrap)."""
    text = DOCS.read_text()
    match = re.search(
        r"^- " + re.escape(kind) + r" \((\d+)\): (.*?)(?=^- |^\s*$)", text, re.M | re.S
    )
    assert match, f"docs/bitrix24.md lost its {kind} line"
    names = re.findall(r"`([^`]+)`", match.group(2))
    assert len(names) == int(match.group(1)) == len(set(names))
    return names


def test_the_library_speaks_the_documented_names():
    assert list(events.EVENTS) == documented("Events")
    assert list(commands.UI_STATES) == documented("UI states")
    assert list(commands.COMMANDS) == documented("Commands")


@pytest.mark.parametrize("path", [BRIDGE, STUB, EMULATOR, FAKE], ids=lambda p: p.name)
def test_no_copy_of_the_names_is_left_anywhere_else(path):
    """A list of the names typed into a consumer would drift: none may hold one."""
    code = re.sub(r"^\s*(//|\*|#).*$", "", path.read_text(), flags=re.M)  # comments aside
    names = set(events.EVENTS) | set(commands.UI_STATES) | set(commands.COMMANDS)
    for literal in re.findall(r"\[[^\[\]]*\]|\{[^{}]*\}", code):
        listed = set(re.findall(r"[\"']?([A-Za-z]+)[\"']?\s*[,:\]}]", literal)) & names
        assert len(listed) < 3, f"{path.name} holds a list of {sorted(listed)}"


def test_the_card_description_is_the_librarys_vocabulary():
    model = cardmodel.describe()
    assert model["events"] == list(events.EVENTS)
    assert model["uiStates"] == list(commands.UI_STATES)
    assert model["commands"] == list(commands.COMMANDS)
    assert set(model["buttonEvents"].values()) == set(events.EVENTS) - {
        events.INITIALIZED,
        events.ENTITY_CHANGED,
    }
    assert list(model["stateButtons"]) == list(commands.UI_STATES)
    for state, buttons in model["stateButtons"].items():
        assert set(buttons) <= set(model["buttonEvents"]), state
    assert fake.BUTTON_EVENTS is cardmodel.BUTTON_EVENTS


def test_the_page_hands_the_librarys_events_to_the_bridge(tmp_path):
    from bx24_frame import settings
    from bx24_frame.site import FrameSite

    (tmp_path / "frame").mkdir()
    (tmp_path / "frame" / "main.py").write_text("import bx24\n")
    site = FrameSite(settings.load(tmp_path))
    boot = json.loads(
        re.search(r'id="bx24-boot">(.*?)</script>', site.build().page().decode()).group(1)
    )
    assert boot["events"] == list(events.EVENTS)


def test_a_new_event_in_the_library_reaches_the_stub_and_the_bridge(monkeypatch):
    """Drift is impossible: a name added in its one place is what the consumers get."""
    monkeypatch.setattr(cardmodel, "EVENTS", list(events.EVENTS) + ["futureButtonClick"])
    script = (
        model_script()
        + """
        const events = window.BX24_MODEL.events;
        console.log(JSON.stringify(events.slice(-1)));"""
    )
    done = subprocess.run(
        ["node", "-e", "const window = {};\n" + script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(done.stdout) == ["futureButtonClick"]
    boot = json.dumps({"events": list(events.EVENTS) + ["futureButtonClick"]})
    harness = """
        const vm = require("vm"); const bound = [];
        const ctx = { console, setTimeout, clearTimeout, JSON, Promise,
          document: { documentElement: { dataset: {} },
                      getElementById: () => ({ textContent: process.env.BOOT }) },
          BX24: { init: (fn) => fn(), placement: { info: () => ({placement: "PAGE_BACKGROUND_WORKER"}),
                  bindEvent: (name) => bound.push(name) } } };
        ctx.window = ctx; vm.createContext(ctx);
        vm.runInContext(require("fs").readFileSync(process.env.BRIDGE, "utf8"), ctx);
        console.log(JSON.stringify(bound.slice(-1))); process.exit(0);"""
    done = subprocess.run(
        ["node", "-e", harness],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={"BOOT": boot, "BRIDGE": str(BRIDGE), "PATH": "/usr/bin:/bin"},
    )
    assert json.loads(done.stdout) == ["BackgroundCallCard::futureButtonClick"]


@pytest.mark.skipif(not SPEC.is_file(), reason="the team's spec is not beside the repository")
def test_the_documented_names_are_bitrix24s():
    spec = SPEC.read_text()
    section = lambda n: spec.split(f"\n## {n}. ")[1].split("\n## ")[0]  # noqa: E731

    def rows(text):
        return [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]

    assert [re.findall(r"`(\w+)`", row)[0] for row in rows(section(4))] == documented("UI states")
    spec_events = [name for row in rows(section(5)) for name in re.findall(r"`(\w+)`", row)]
    assert sorted(spec_events) == sorted(documented("Events"))
    assert sorted(set(re.findall(r"`(CallCard\w+)`", section(3)))) == sorted(documented("Commands"))
