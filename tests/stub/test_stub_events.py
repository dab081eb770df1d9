"""Spec section 5 and bindEvent: events reach the frame's handlers as Bitrix24 delivers them."""

import pytest
from playwright.sync_api import Error as PlaywrightError

from stub_helpers import CARD_UNDEFINED, call, events, raise_call, received

P = "BackgroundCallCard::"
SPEC_EVENTS = [
    "initialized",
    "entityChanged",
    "addCommentButtonClick",
    "muteButtonClick",
    "holdButtonClick",
    "transferButtonClick",
    "qualityMeterClick",
    "dialpadButtonClick",
    "closeButtonClick",
    "cancelTransferButtonClick",
    "completeTransferButtonClick",
    "hangupButtonClick",
    "nextButtonClick",
    "skipButtonClick",
    "answerButtonClick",
    "makeCallButtonClick",
    "notifyAdminButtonClick",
]
# A realistic payload per event, and malformed ones: fire() passes both through untouched.
PAYLOADS = {
    "initialized": {"CALL_ID": "externalCall.x.1", "LINE_NUMBER": "1", "CRM_ENTITY_ID": 0},
    "entityChanged": {"PHONE_NUMBER": "unknown", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 5},
    "addCommentButtonClick": "call me back",
    "muteButtonClick": True,
    "holdButtonClick": False,
    "transferButtonClick": {"phoneNumber": "+1555", "target": "12"},
    "qualityMeterClick": "5",
    "dialpadButtonClick": "*",
}
MALFORMED = [None, 42, "garbage", [1, 2], {"unexpected": {"nested": [True]}}]


@pytest.mark.parametrize("name", SPEC_EVENTS)
def test_each_event_reaches_its_handler_with_the_payload(card_page, name):
    payload = PAYLOADS.get(name, "anything")
    record = card_page.evaluate("([n, p]) => BX24Stub.fire(n, p)", [name, payload])
    assert record["event"] == P + name and record["handlers"] == 1
    assert received(card_page, P + name) == [payload]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_payloads_pass_through(card_page, payload):
    card_page.evaluate("p => BX24Stub.fire('initialized', p)", payload)
    assert received(card_page, P + "initialized") == [payload]


def test_an_event_without_argument_arrives_as_an_empty_list(card_page):
    card_page.evaluate("BX24Stub.fire('hangupButtonClick')")
    assert received(card_page, P + "hangupButtonClick") == [[]]


def test_names_with_and_without_the_prefix_are_the_same_event(card_page):
    card_page.evaluate(
        "BX24Stub.fire('BackgroundCallCard::skipButtonClick'); BX24Stub.fire('skipButtonClick')"
    )
    assert len(received(card_page, P + "skipButtonClick", 2)) == 2


def test_unknown_event_names_are_refused(card_page):
    with pytest.raises(PlaywrightError, match="unknown event"):
        card_page.evaluate("BX24Stub.fire('muteClicked', true)")


def test_handlers_run_after_fire_returns(card_page):
    ran_inside = card_page.evaluate(
        """() => { let ran = false;
                   BX24.placement.bindEvent('BackgroundCallCard::answerButtonClick', () => { ran = true; });
                   BX24Stub.fire('answerButtonClick'); return ran; }"""
    )
    assert ran_inside is False


def test_get_interface_lists_the_9_commands_and_17_events(card_page):
    interface = card_page.evaluate("new Promise(resolve => BX24.placement.getInterface(resolve))")
    assert sorted(interface["command"]) == sorted(
        [
            "CallCardSetMute",
            "CallCardSetHold",
            "CallCardSetUiState",
            "CallCardGetListUiStates",
            "CallCardSetCardTitle",
            "CallCardSetStatusText",
            "CallCardStartTimer",
            "CallCardStopTimer",
            "CallCardClose",
        ]
    )
    assert sorted(interface["event"]) == sorted(P + name for name in SPEC_EVENTS)


def test_raise_call_fires_initialized_from_defaults_and_overrides(card_page):
    payload = card_page.evaluate(
        "BX24Stub.raiseCall({PHONE_NUMBER: null, CRM_ACTIVITY_ID: '', CALL_DIRECTION: 'outgoing'})"
    )
    assert "PHONE_NUMBER" not in payload, "null removes a key: the number is unknown"
    assert payload["CRM_ACTIVITY_ID"] == "" and payload["CALL_DIRECTION"] == "outgoing"
    assert payload["CALL_ID"].startswith("externalCall.")
    assert set(payload) == {
        "CALL_ID",
        "LINE_NUMBER",
        "LINE_NAME",
        "CRM_ENTITY_TYPE",
        "CRM_ENTITY_ID",
        "CRM_ACTIVITY_ID",
        "CRM_BINDINGS",
        "CALL_DIRECTION",
        "CALL_STATE",
        "CALL_LIST_MODE",
    }
    assert received(card_page, P + "initialized") == [payload]


def test_fire_is_wire_only_and_does_not_raise_a_card(card_page):
    card_page.evaluate("BX24Stub.fire('initialized', {CALL_ID: 'x'})")
    assert call(card_page, "CallCardSetCardTitle", {"title": "t"}) == [
        {"result": "error", "errorCode": "Call card is undefined"}
    ]


def test_events_are_recorded_with_source_and_time(card_page):
    raise_call(card_page, options={"uiState": "connected"})
    card_page.evaluate(
        "BX24Stub.click('dialpad', '5'); BX24Stub.fire('entityChanged', {PHONE_NUMBER: 'unknown'})"
    )
    log = events(card_page)
    assert [(e["event"], e["source"], e["handlers"]) for e in log] == [
        (P + "initialized", "raiseCall", 1),
        (P + "dialpadButtonClick", "click", 1),
        (P + "entityChanged", "fire", 1),
    ]
    assert log[1]["payload"] == "5"
    assert 0 < log[0]["time"] <= log[1]["time"] <= log[2]["time"]


def test_events_before_any_binding_are_lost(fresh_page):
    # As in Bitrix24: the portal sends an event to the handlers bound at that moment only.
    fresh_page.evaluate("BX24Stub.fire('entityChanged', {PHONE_NUMBER: 'unknown'})")
    fresh_page.evaluate(
        "T.bind('BackgroundCallCard::entityChanged'); BX24Stub.fire('skipButtonClick')"
    )
    fresh_page.evaluate(
        "T.bind('BackgroundCallCard::skipButtonClick'); BX24Stub.fire('skipButtonClick')"
    )
    received(fresh_page, P + "skipButtonClick")
    assert fresh_page.evaluate("T.received['BackgroundCallCard::entityChanged']") is None


def test_binding_twice_runs_the_handler_twice(fresh_page):
    for name in ["muteButtonClick", "muteButtonClick", "holdButtonClick"]:
        fresh_page.evaluate("n => T.bind(n)", P + name)
    fresh_page.evaluate(
        "BX24Stub.fire('muteButtonClick', true); BX24Stub.fire('holdButtonClick', true)"
    )
    received(fresh_page, P + "holdButtonClick")  # delivered after both mute deliveries
    assert fresh_page.evaluate("T.received['BackgroundCallCard::muteButtonClick']") == [True, True]
    bindings = fresh_page.evaluate("BX24Stub.bindings()")
    assert [b["event"] for b in bindings] == [P + "muteButtonClick"] * 2 + [P + "holdButtonClick"]


def test_binding_an_unknown_name_is_accepted_but_never_fires(fresh_page):
    # The portal binds only the placement's events: a name without the prefix never fires.
    fresh_page.evaluate("T.bind('muteButtonClick'); T.bind('BackgroundCallCard::holdButtonClick')")
    fresh_page.evaluate(
        "BX24Stub.fire('muteButtonClick', true); BX24Stub.fire('holdButtonClick', true)"
    )
    received(fresh_page, P + "holdButtonClick")
    assert fresh_page.evaluate("T.received['muteButtonClick']") is None
    assert [b["accepted"] for b in fresh_page.evaluate("BX24Stub.bindings()")] == [False, True]


def test_events_fired_on_a_card_not_the_apps_own_never_arrive(card_page):
    raise_call(card_page, options={"uiState": "connected", "own": False})
    assert card_page.evaluate("BX24Stub.fire('muteButtonClick', true)") is None
    assert events(card_page) == []


def test_firing_close_closes_the_card_as_the_click_does(card_page):
    raise_call(card_page, options={"uiState": "error"})
    card_page.evaluate("BX24Stub.fire('closeButtonClick')")
    assert received(card_page, P + "closeButtonClick") == [[]]
    assert card_page.evaluate("BX24Stub.card().closed") is True
    assert call(card_page, "CallCardSetMute", {"muted": True}) == CARD_UNDEFINED


def test_the_softphone_control_drives_the_pages_stand_in(card_page):
    with pytest.raises(PlaywrightError, match="no stand-in softphone"):
        card_page.evaluate("BX24Stub.softphone('ring', '+1555')")
    card_page.evaluate(
        "window.got = []; window.bx24StandInSoftphone = {"
        "ring: (...a) => got.push(['ring', ...a]), pickUp: () => got.push(['pickUp']),"
        "hangUp: () => got.push(['hangUp']), fail: (...a) => got.push(['fail', ...a])}"
    )
    card_page.evaluate(
        "BX24Stub.softphone('ring', '+1555', 'line2'); BX24Stub.softphone('fail', '486')"
    )
    assert card_page.evaluate("got") == [["ring", "+1555", "line2"], ["fail", "486"]]
    with pytest.raises(PlaywrightError, match="unknown softphone action"):
        card_page.evaluate("BX24Stub.softphone('explode')")
