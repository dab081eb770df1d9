"""The emulator page (bx24_testing/static/emulator) driving a frame through the stub.

The frame here is a small JavaScript worker, so these tests cover the emulator and its hosting
of the stub; the end-to-end run with the Python sample app belongs to tests/e2e. The emulator
expects the server to answer ``/?emulator`` with the frame's page where Bitrix24's library is
replaced by ``emulator/bx24-stub.js``, to serve that script, and to answer the portal's side
(REST, the frame's session): routed here the same way. The page and the stub talk by
postMessage only, as they must when the frame is cross-site.
"""

import mimetypes

import pytest

from bx24_testing.bitrix24 import Portal
from bx24_testing.portal import route as route_portal
from bx24_testing.stub import EMULATOR_DIR, stub_script

ORIGIN = "https://emulator.test"

DEMO_FRAME = """<!doctype html><html><head>
<script src="/emulator/bx24-stub.js"></script>
<script>
  console.log("demo frame: interpreter=" + new URLSearchParams(location.search).get("interpreter"));
  BX24.init(function () {
    var P = "BackgroundCallCard::";
    var send = function (command, params) { BX24.placement.call(command, params, function () {}); };
    BX24.placement.bindEvent(P + "initialized", function (call) {
      send("CallCardSetCardTitle", {title: "Call from " + call.PHONE_NUMBER});
      send("CallCardSetStatusText", {statusText: "Ringing"});
    });
    BX24.placement.bindEvent(P + "answerButtonClick", function () {
      send("CallCardSetUiState", {uiState: "connected"});
    });
    BX24.placement.bindEvent(P + "muteButtonClick", function (muted) { send("CallCardSetMute", {muted: muted}); });
    BX24.placement.bindEvent(P + "dialpadButtonClick", function (key) { console.log("DTMF " + key); });
    BX24.placement.bindEvent(P + "hangupButtonClick", function () { send("CallCardClose", {}); });
    document.documentElement.dataset.bx24 = "ready";
  });
</script></head><body></body></html>"""


def serve(route):
    path, _, query = route.request.url[len(ORIGIN) :].partition("?")
    if path == "/" and query.startswith("emulator"):
        return route.fulfill(body=DEMO_FRAME, content_type="text/html")
    if path == "/emulator/bx24-stub.js":
        return route.fulfill(body=stub_script(), content_type="text/javascript")
    name = path.removeprefix("/emulator/") or "index.html"
    file = EMULATOR_DIR / name
    if not file.is_file():
        return route.fulfill(status=404, body="not found")
    route.fulfill(
        body=file.read_bytes(), content_type=mimetypes.guess_type(name)[0] or "text/plain"
    )


@pytest.fixture(scope="module")
def loaded_emulator(stub_context):
    page = stub_context.new_page()
    page.route(ORIGIN + "/**", serve)
    route_portal(page, Portal("emulator.test"))  # the emulator page is the frame's portal
    page.goto(ORIGIN + "/emulator/?interpreter=micropython")
    page.wait_for_selector("#frame-status[data-status=ready]")
    startup = {
        "log": page.text_content("#log"),
        "rest": page.evaluate("emulator.call('config').then(c => c.restResponses)"),
    }
    yield page, startup
    page.close()


@pytest.fixture
def emulator(loaded_emulator):
    """The module's emulator page, back to no call, a fresh form, an empty log, browser mode."""
    page, _ = loaded_emulator
    page.evaluate(
        "emulator.call('reset').then(() => "
        "document.querySelectorAll('form').forEach(f => f.reset()))"
    )
    page.click("#clear-log")
    page.select_option("#mode", "browser")
    page.set_checked("#show-frame", False)
    return page


def test_the_frame_is_loaded_with_the_interpreter_asked_for(emulator):
    src = emulator.get_attribute("#frame", "src")
    # Cross-site on loopback (127.0.0.1 and localhost); this test's made-up host has no twin.
    assert src == ORIGIN + "/?emulator&interpreter=micropython"
    assert emulator.evaluate("emulator.call('bindings').then(b => b.length)") == 5


def test_a_call_drives_the_card_and_the_log(emulator):
    emulator.fill("input[name=PHONE_NUMBER]", "+15551112233")
    emulator.click("#raise-form button[type=submit]")
    emulator.wait_for_function(
        "document.getElementById('card-title').textContent === 'Call from +15551112233'"
    )
    assert emulator.text_content("#card-status") == "Ringing"
    assert [b.text_content() for b in emulator.query_selector_all("#card-buttons button")] == [
        "Answer",
        "Skip",
    ]

    emulator.click("#card-buttons [data-button=answer]")
    emulator.wait_for_selector("#card[data-state=connected]")
    emulator.click("#card-buttons [data-button=mute]")
    emulator.wait_for_selector("#card-buttons [data-button=mute][aria-pressed=true]")
    assert emulator.text_content("#card-buttons [data-button=mute]") == "Unmute"
    assert emulator.is_visible("#card-timer")

    log = emulator.text_content("#log")
    for line in [
        "CallCardSetCardTitle",
        "answerButtonClick",
        "CallCardSetUiState",
        "muteButtonClick true",
        'CallCardSetMute {"muted":true}',
    ]:
        assert line in log

    emulator.click("#card-buttons [data-button=hangup]")
    emulator.wait_for_selector("#card[data-state=closed]")


def test_dial_pad_quality_transfer_and_comment_fire_their_events(emulator):
    emulator.select_option("select[name=CALL_STATE]", "connected")
    emulator.click("#raise-form button[type=submit]")
    emulator.wait_for_selector("#card[data-state=connected]")
    emulator.click("#card-buttons [data-button=dialpad]")
    emulator.click("#dialpad-keys [data-key='#']")
    emulator.click("#stars [data-rating='4']")
    emulator.select_option("#transfer-target", "17")
    emulator.click("#transfer button[type=submit]")
    emulator.fill("#comment textarea", "call back tomorrow")
    emulator.click("#comment button[type=submit]")
    fired = emulator.evaluate(
        "emulator.call('events').then(events => events.slice(1)"
        ".map(e => [e.event.split('::')[1], e.payload]))"
    )
    assert fired == [
        ["dialpadButtonClick", "#"],
        ["qualityMeterClick", "4"],
        ["transferButtonClick", {"phoneNumber": "+15550123456", "target": "17"}],
        ["addCommentButtonClick", "call back tomorrow"],
    ]
    emulator.wait_for_function("document.getElementById('console').textContent.includes('DTMF #')")


def test_a_department_transfer_fires_nothing(emulator):
    emulator.select_option("select[name=CALL_STATE]", "connected")
    emulator.click("#raise-form button[type=submit]")
    emulator.wait_for_selector("#card[data-state=connected]")
    emulator.select_option("#transfer-target", "department:5")
    emulator.click("#transfer button[type=submit]")
    assert "department" in emulator.text_content("#log")
    assert emulator.evaluate("emulator.call('events').then(e => e.length)") == 1


def test_the_frame_and_its_console_are_shown_on_request(emulator):
    assert not emulator.is_visible("#console-box")
    emulator.check("#show-frame")
    assert emulator.is_visible("#frame") and emulator.is_visible("#console-box")
    assert "demo frame: interpreter=micropython" in emulator.text_content("#console")


def test_a_fired_event_with_a_json_payload_reaches_the_frame(emulator):
    emulator.select_option("#fire-event", "entityChanged")
    emulator.fill("#fire-form input[name=payload]", '{"PHONE_NUMBER": "unknown"}')
    emulator.click("#fire-form button[type=submit]")
    record = emulator.evaluate("emulator.call('events').then(e => e[0])")
    assert record["event"] == "BackgroundCallCard::entityChanged"
    assert record["payload"] == {"PHONE_NUMBER": "unknown"}
    assert record["handlers"] == 0  # the demo frame does not bind it


def test_desktop_mode_switch_reaches_the_stub(emulator):
    emulator.select_option("#mode", "desktop")
    assert emulator.evaluate("emulator.call('config').then(c => c.mode)") == "desktop"


def test_the_emulator_sees_what_the_frame_did_before_its_load_event(loaded_emulator):
    # The stub attaches to the emulator before the frame's scripts run: nothing is missed.
    _, startup = loaded_emulator
    assert "BX24.init" in startup["log"]
    assert startup["log"].count("bindEvent BackgroundCallCard::") == 5


def test_the_rest_answers_of_the_form_are_there_from_the_start(loaded_emulator):
    _, startup = loaded_emulator
    assert "crm.contact.get" in startup["rest"]


def test_rest_answers_from_the_form_reach_the_frame(emulator):
    emulator.fill("#rest-form textarea", '{"user.current": {"result": {"ID": "5"}}}')
    emulator.click("#rest-form button[type=submit]")
    data = emulator.evaluate(
        "new Promise(r => document.getElementById('frame').contentWindow.BX24.callMethod("
        "'user.current', {}, res => r(res.data())))"
    )
    assert data == {"ID": "5"}
    emulator.wait_for_function(
        "document.getElementById('log').textContent.includes('REST user.current')"
    )


def test_the_default_rest_answers_leave_telephony_to_the_built_in_server(emulator):
    """A programmed register would give every call one CALL_ID; the built-in one gives each
    its own, and opens its card."""
    emulator.click("#rest-form button[type=submit]")
    programmed = emulator.evaluate("emulator.call('config').then(c => c.restResponses)")
    assert not any(method.startswith("telephony.") for method in programmed)


def test_the_softphone_panel_drives_the_frames_stand_in(emulator):
    emulator.evaluate(
        "document.getElementById('frame').contentWindow.eval("
        '"window.got = []; window.bx24StandInSoftphone = {ring: (...a) => got.push(a),'
        " pickUp() {}, hangUp: () => got.push(['hangUp']), fail: (s) => got.push([s])}\")"
    )
    emulator.fill("#softphone-form [name=number]", "+15550001122")
    emulator.get_by_role("button", name="Ring").click()
    emulator.get_by_role("button", name="Busy").click()
    emulator.get_by_role("button", name="Hang up").click()
    emulator.wait_for_function("document.getElementById('frame').contentWindow.got.length === 3")
    assert emulator.evaluate("document.getElementById('frame').contentWindow.got") == [
        ["+15550001122"],
        ["486"],
        ["hangUp"],
    ]
    emulator.wait_for_function(
        "document.getElementById('log').textContent.includes('softphone ring')"
    )
