"""One model, two cards: the same scenarios run against the BX24 stub's card (in Chromium) and
the CPython fake's (bx24_testing.cardmodel.Card, what FakePortal shows), and every output must be
the same: the answers to commands (or their silence), what each click fires or why it is
refused, and the card as it ends up. Both read one description (cardmodel.describe()); this
table is what keeps their rules from drifting apart."""

import json

import pytest

from bx24_testing.bitrix24 import Portal
from bx24_testing.cardmodel import Card, Refused
from bx24_testing.portal import frame_name, route
from bx24_testing.stub import stub_script

CALL = {
    "CALL_ID": "externalCall.table.1",
    "PHONE_NUMBER": "+15550001122",
    "LINE_NUMBER": "line1",
    "LINE_NAME": "Sales",
    "CRM_ENTITY_TYPE": "CONTACT",
    "CRM_ENTITY_ID": 42,
    "CRM_BINDINGS": [],
    "CALL_DIRECTION": "incoming",
    "CALL_STATE": "idle",
    "CALL_LIST_MODE": False,
}

# Each step: (what, *args). Outputs are compared step by step.
SCENARIOS = {
    "no card": [
        ("cmd", "CallCardSetMute", {"muted": True}),
        ("cmd", "CallCardGetListUiStates", {}),
        ("cmd", "CallCardStartTimer", {}),
        ("cmd", "NoSuchCommand", {}),
    ],
    "an incoming call answered": [
        ("raise", {}, {}),
        ("card",),
        ("click", "mute", None),
        ("click", "answer", None),
        ("cmd", "CallCardSetUiState", {"uiState": "connected"}),
        ("advance", 42_000),
        ("card",),
        ("cmd", "CallCardSetUiState", {"uiState": "nonsense"}),
        ("card",),
    ],
    "the timer": [
        ("raise", {}, {"uiState": "connected"}),
        ("cmd", "CallCardSetUiState", {"uiState": "connected", "disableAutoStartTimer": True}),
        ("card",),
        ("cmd", "CallCardStartTimer", {}),
        ("advance", 3_000),
        ("cmd", "CallCardStopTimer", {}),
        ("advance", 5_000),
        ("cmd", "CallCardStartTimer", {}),
        ("advance", 2_000),
        ("card",),
    ],
    "the desktop application checks fields": [
        ("mode", "desktop"),
        ("raise", {}, {}),
        ("cmd", "CallCardSetMute", {}),
        ("cmd", "CallCardSetHold", {}),
        ("cmd", "CallCardSetCardTitle", {}),
        ("cmd", "CallCardSetStatusText", {}),
        ("cmd", "CallCardStartTimer", {}),
        ("cmd", "CallCardSetCardTitle", {"title": "Call"}),
        ("card",),
        ("mode", "browser"),
    ],
    "mute, hold, title, status": [
        ("raise", {}, {"uiState": "connected"}),
        ("cmd", "CallCardSetMute", {"muted": True}),
        ("cmd", "CallCardSetMute", {"muted": True}),
        ("click", "mute", None),
        ("click", "hold", True),
        ("click", "hold", "yes"),
        ("cmd", "CallCardSetHold", {"held": 1}),
        ("cmd", "CallCardSetCardTitle", {"title": 7}),
        ("cmd", "CallCardSetStatusText", {"statusText": True}),
        ("card",),
    ],
    "transfer": [
        ("raise", {}, {"uiState": "connected"}),
        ("click", "transfer", None),
        ("click", "transfer", "17"),
        ("cmd", "CallCardSetUiState", {"uiState": "transferring"}),
        ("click", "completeTransfer", None),
        ("click", "cancelTransfer", None),
        ("card",),
    ],
    "a transferred call and call-list mode hide transfer": [
        ("raise", {}, {"uiState": "transferIncoming"}),
        ("cmd", "CallCardSetUiState", {"uiState": "connected"}),
        ("card",),
        ("raise", {"CALL_LIST_MODE": True}, {"uiState": "connected"}),
        ("card",),
        ("click", "next", None),
        ("click", "transfer", "5"),
    ],
    "the buttons' payloads": [
        ("raise", {}, {"uiState": "connected"}),
        ("click", "qualityMeter", "5"),
        ("click", "qualityMeter", 9),
        ("click", "dialpad", "#"),
        ("click", "dialpad", "12"),
        ("click", "addComment", "call back tomorrow"),
        ("click", "comment", 3),
        ("click", "quality", "2"),
        ("click", "muteButtonClick", False),
        ("click", "nonsense", None),
    ],
    "closing": [
        ("raise", {}, {"uiState": "error"}),
        ("card",),
        ("cmd", "CallCardClose", {}),
        ("card",),
        ("cmd", "CallCardSetMute", {"muted": True}),
        ("click", "close", None),
    ],
    "the close button": [
        ("raise", {}, {"uiState": "moneyError"}),
        ("card",),
        ("click", "notifyAdmin", None),
        ("click", "close", None),
        ("card",),
        ("cmd", "CallCardSetCardTitle", {"title": "x"}),
    ],
    "a card this application did not raise": [
        ("raise", {}, {"own": False}),
        ("cmd", "CallCardSetMute", {"muted": True}),
        ("click", "answer", None),
        ("card",),
    ],
    "outgoing and redial": [
        ("raise", {"CALL_DIRECTION": "outgoing"}, {}),
        ("card",),
        ("click", "call", None),
        ("cmd", "CallCardSetUiState", {"uiState": "redial"}),
        ("click", "makeCall", None),
        ("raise", {"CALL_DIRECTION": "incoming", "CALL_STATE": "connecting"}, {}),
        ("card",),
    ],
}


def normalized(message):
    return str(message).split("\n")[0].split("BX24 stub: ", 1)[-1]


class PythonCard:
    """The steps against cardmodel.Card (the fake's card)."""

    def __init__(self):
        self.card = None
        self.now = 0.0
        self.mode = "browser"

    def run(self, step):
        what, *args = step
        if what == "raise":
            overrides, options = args
            call = {**CALL, **overrides}
            self.card = Card(
                call,
                ui_state=options.get("uiState"),
                own=options.get("own", True),
                clock=lambda: self.now,
                mode=self.mode,
            )
            return call["CALL_ID"]
        if what == "mode":
            self.mode = args[0]
            if self.card:
                self.card.mode = self.mode
            return None
        if what == "advance":
            self.now += args[0] / 1000
            return None
        if what == "card":
            return self.card.snapshot() if self.card else None
        if what == "cmd":
            if self.card is None:
                from bx24_testing.cardmodel import CARD_UNDEFINED, COMMANDS, UI_STATES, WITHOUT_CARD

                if args[0] not in COMMANDS:
                    return "silent"
                return UI_STATES if args[0] in WITHOUT_CARD else CARD_UNDEFINED
            kind, value = self.card.command(args[0], args[1])
            return "silent" if kind == "silent" else value
        if what == "click":
            try:
                event, payload = self.card.click(*args)
            except Refused as refused:
                return {"refused": normalized(refused)}
            return None if event is None else {"event": event, "payload": payload}
        raise AssertionError(step)


STUB_STEP = """async ([what, args]) => {
  if (what === "raise") return (await BX24Stub.raiseCall(args[0], args[1])).CALL_ID;
  if (what === "mode") { BX24Stub.configure({mode: args[0]}); return null; }
  if (what === "advance") { BX24Stub.advanceClock(args[0]); return null; }
  if (what === "card") return BX24Stub.card();
  if (what === "cmd") {
    // answered or silent: known once a later command (always answered) is answered
    let answer = "silent";
    BX24.placement.call(args[0], args[1], (data) => { answer = data; });
    await new Promise((r) => BX24.placement.call("CallCardGetListUiStates", {}, r));
    return answer;
  }
  if (what === "click") {
    try {
      const entry = args[1] === null ? BX24Stub.click(args[0]) : BX24Stub.click(args[0], args[1]);
      return entry === null ? null
        : {event: entry.event.replace("BackgroundCallCard::", ""), payload: entry.payload ?? null};
    } catch (error) { return {refused: String(error.message)}; }
  }
}"""


@pytest.fixture(scope="module")
def stub_page(browser):
    context = browser.new_context()
    page = context.new_page()
    portal = Portal("table.bitrix24.com")
    route(page, portal)
    session = portal.open_session(1)
    page.route(
        "https://frame.test/",
        lambda r: r.fulfill(
            content_type="text/html",
            body=f"<!doctype html><script>window.name = "
            f"{json.dumps(frame_name(portal, session))};</script>"
            f"<script>{stub_script(sip_stand_in=False)}</script>",
        ),
    )
    page.goto("https://frame.test/")
    page.wait_for_function("BX24Stub.initialized()")
    yield page
    context.close()


def card_of(snapshot):
    if snapshot is None:
        return None
    return {k: v for k, v in snapshot.items() if k != "call"}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_stub_and_the_fake_give_the_same_answers(stub_page, name):
    stub_page.evaluate("BX24Stub.reset(); BX24Stub.configure({mode: 'browser'})")
    python = PythonCard()
    for step in SCENARIOS[name]:
        args = list(step[1:])
        if step[0] == "raise":
            args[0] = {**CALL, **args[0]}
        in_browser = stub_page.evaluate(STUB_STEP, [step[0], args])
        in_python = python.run(step)
        if step[0] == "card":
            in_browser, in_python = card_of(in_browser), card_of(in_python)
        elif step[0] == "click" and isinstance(in_browser, dict) and "refused" in in_browser:
            in_browser = {"refused": normalized(in_browser["refused"])}
        assert in_browser == in_python, f"{name}: {step}"


def test_registering_with_show_opens_the_same_card_in_the_stub_and_the_fake(stub_page):
    """What the page does after a REST answer (the stub's afterRest, the fake's _after_rest):
    the same card for the same registration."""
    from bx24_testing.fake import FakePortal, run

    params = {
        "USER_ID": 1,
        "PHONE_NUMBER": "+15550009999",
        "TYPE": 1,
        "LINE_NUMBER": "l2",
        "CRM_CREATE": 1,
    }
    stub_page.evaluate("BX24Stub.reset()")
    stub_page.evaluate(
        """(params) => new Promise((resolve) =>
        BX24.callMethod('telephony.externalcall.register', params, resolve))""",
        params,
    )
    stub_page.wait_for_function("BX24Stub.card() !== null")
    in_browser = stub_page.evaluate("BX24Stub.card()")

    async def in_fake():
        portal = FakePortal()
        await portal.rest().call("telephony.externalcall.register", params)
        await portal.settle()
        return portal.card_shown.snapshot()

    in_python = run(in_fake())
    for snapshot in (in_browser, in_python):  # the ids differ: two portals made them
        call = snapshot["call"]
        call.pop("CALL_ID")
        assert (
            call["CRM_ENTITY_ID"] and call["CRM_BINDINGS"][0]["ENTITY_ID"] == call["CRM_ENTITY_ID"]
        )
        call["CRM_ENTITY_ID"] = call["CRM_BINDINGS"][0]["ENTITY_ID"] = "<the new lead>"
    assert in_browser == in_python


def test_the_emulators_refused_registration_button_reports_what_the_fakes_do():
    """The emulator's "Refused (403)" button gives the SIP stand-in JsSIP's cause and code: the
    ones bx24_testing.fake.registration_refused gives the fake phone and bx24_card.softphone."""
    import re
    from pathlib import Path

    import bx24_testing
    from bx24_testing.fake import registration_refused

    html = (Path(bx24_testing.__file__).parent / "static/emulator/index.html").read_text()
    [(cause, code)] = re.findall(
        r'data-action="refuseRegistration" data-cause="([^"]+)"\s+data-code="(\d+)"', html
    )
    assert registration_refused(int(code)) == {"cause": cause, "code": int(code)}
