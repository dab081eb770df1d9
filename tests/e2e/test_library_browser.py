"""The bx24 library in Chromium, on Pyodide and MicroPython: every command, every event.

The frame is the production frame (index.html, boot.js, the PyScript configs, bridge.js) with a
test-only main.py (PROBE below) that subscribes to all 17 events and lets the test run any card
method. One page load per interpreter serves every test; each test starts from
``BX24Stub.reset()``. Slow or silent portal answers are simulated by wrapping
``BX24.placement.call`` in the page (``override``), never by sleeping.
"""

import json

import pytest

from bx24_testing.plugin import INTERPRETERS

PROBE = r"""
import json
from pyscript import window
from pyscript.ffi import create_proxy
import bx24

logged = []
received = []
late = []


def log(message):
    logged.append(message)
    print("[bx24] " + message)


card = bx24.page.card(timeout=1.0, timer_grace=0.3, log=log)

FIELDS = {
    "CallInfo": ("call_id", "phone_number", "line_number", "line_name", "crm_entity_type",
                 "crm_entity_id", "crm_activity_id", "crm_bindings", "direction", "state",
                 "call_list_mode"),
    "CrmBinding": ("entity_type", "entity_id"),
    "Entity": ("phone_number", "crm_entity_type", "crm_entity_id"),
    "TransferTarget": ("phone_number", "target", "is_user", "is_phone", "user_id"),
}


def plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return dict((k, plain(v)) for k, v in value.items())
    kind = type(value).__name__
    out = {"type": kind}
    for name in FIELDS.get(kind, ()):
        out[name] = plain(getattr(value, name))
    if isinstance(value, Exception):
        out["message"] = str(value)
        for name in ("command", "code", "raw", "field"):
            out[name] = plain(getattr(value, name, None))
    return out


@card.on("muteButtonClick")
def broken(muted):
    raise RuntimeError("this handler always fails")


for event in bx24.EVENTS:
    def record(*args, event=event):
        received.append([event, plain(list(args))])
    card.on(event)(record)


@card.on("initialized")
async def async_handler(call):
    states = await card.ui_states()
    received.append(["async initialized", len(states)])


@card.on_late_error
def on_late(error):
    late.append(plain(error))


def state():
    return {"active": card.active, "call_id": card.call.call_id if card.call else None,
            "ui_state": card.ui_state, "muted": card.muted, "held": card.held,
            "timer_running": card.timer_running,
            "entity": plain(card.entity)}


async def run(method, args_json):
    try:
        if method in ("placement_info", "get_interface"):
            value = await getattr(card, method)()
            value = {"name": value.name, "uri": value.uri, "options": value.options} \
                if method == "placement_info" else {"commands": value.commands, "events": value.events}
        else:
            args = json.loads(args_json)
            value = await getattr(card, method)(*args.get("args", []), **args.get("kwargs", {}))
        return json.dumps({"ok": plain(value), "state": state()})
    except Exception as error:
        return json.dumps({"error": plain(error), "state": state()})


def clear():
    del received[:]
    del logged[:]
    del late[:]


window.probeRun = create_proxy(run)
window.probeReceived = create_proxy(lambda: json.dumps(received))
window.probeLogged = create_proxy(lambda: json.dumps(logged))
window.probeLate = create_proxy(lambda: json.dumps(late))
window.probeState = create_proxy(lambda: json.dumps(state()))
window.probeClear = create_proxy(clear)
# The boot events (BOOT_EVENTS) are fired at BX24.init, which may come after a warm interpreter
# is up: the scenario is "fired before Python attached", so wait for them to be queued.
import asyncio
for _ in range(500):
    if window.bx24Bridge.queued() >= 3:
        break
    await asyncio.sleep(0.01)
window.probeQueuedBeforeAttach = window.bx24Bridge.queued()
card.attach()
"""

# Fired as soon as bridge.js has bound the 17 events at BX24.init, i.e. while the interpreter
# is still booting.
BOOT_EVENTS = r"""
addEventListener("DOMContentLoaded", () => {
  BX24Stub.onChange((kind) => {
    if (kind !== "binding" || BX24Stub.bindings().length !== 17) return;
    BX24Stub.fire("entityChanged", {PHONE_NUMBER: "unknown", CRM_ENTITY_TYPE: "", CRM_ENTITY_ID: 0});
    BX24Stub.raiseCall({CALL_ID: "boot-call", PHONE_NUMBER: "+70000000001"});
    BX24Stub.fire("dialpadButtonClick", "7");
  });
});
"""

# Test-only control over the portal's answers: window.probeOverride[command] =
# {answer: value, delay: ms} answers that (later), "silent" never answers.
OVERRIDE = r"""
(() => {
  const original = BX24.placement.call;
  window.probeOverride = {};
  BX24.placement.call = function (command, params, callback) {
    const rule = window.probeOverride[command];
    if (rule === undefined) return original.apply(this, arguments);
    if (rule === "silent") return;
    setTimeout(() => callback(rule.answer), rule.delay || 0);
  };
})();
"""

CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]


class Probe:
    def __init__(self, page, frame):
        self.page = page
        self.frame = frame

    def js(self, expression, arg=None):
        return self.frame.evaluate(expression, arg)

    def stub(self, method, *args):
        return self.js("([m, a]) => BX24Stub[m](...a)", [method, list(args)])

    def run(self, method, *args, **kwargs):
        text = self.js(
            "async ([m, a]) => await window.probeRun(m, a)",
            [method, json.dumps({"args": args, "kwargs": kwargs})],
        )
        return json.loads(text)

    def received(self):
        return json.loads(self.js("window.probeReceived()"))

    def logged(self):
        return json.loads(self.js("window.probeLogged()"))

    def wait_received(self, count):
        self.frame.target.wait_for_function(
            "n => JSON.parse(window.probeReceived()).length >= n", arg=count, timeout=10_000
        )
        return self.received()

    def override(self, command, rule):
        self.js("([c, r]) => { window.probeOverride[c] = r; }", [command, rule])

    def reset(self):
        self.js("window.probeOverride = {}")
        self.stub("reset")
        self.js("window.probeClear()")

    def raise_call(self, **overrides):
        """A fresh call: initialized delivered, the async handler done."""
        self.stub("raiseCall", overrides, {})
        self.wait_received(2)
        self.frame.target.wait_for_function(
            "() => JSON.parse(window.probeReceived()).some(r => r[0] === 'async initialized')"
        )
        self.js("window.probeClear()")


@pytest.fixture(scope="module")
def probe_server(make_frame):
    return make_frame(PROBE)


@pytest.fixture(scope="module", params=INTERPRETERS)
def probe(request, browser, probe_server):
    from bx24_testing.frame import frame_url, open_frame

    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(BOOT_EVENTS)
    frame = open_frame(page, frame_url(probe_server.url, request.param))
    frame.evaluate(OVERRIDE)
    yield Probe(page, frame)
    context.close()


@pytest.fixture
def p(probe):
    """The probe page, its stub and records reset for one test."""
    boot = probe.received() if not hasattr(probe, "boot") else probe.boot
    probe.boot = boot
    probe.reset()
    return probe


# -- boot, binding -------------------------------------------------------------------------


def test_events_fired_during_boot_arrive_once_in_order(p):
    assert p.js("window.probeQueuedBeforeAttach") == 3
    events = [r[0] for r in p.boot if r[0] != "async initialized"]
    assert events == ["entityChanged", "initialized", "dialpadButtonClick"]
    assert p.boot[1][1][0]["call_id"] == "boot-call"
    assert p.boot[2][1] == ["7"]


def test_every_event_is_bound_exactly_once(p):
    bound = [b["event"] for b in p.stub("bindings")]
    assert sorted(bound) == sorted(p.js("BX24Stub.EVENTS"))
    assert len(bound) == len(set(bound)) == 17


def test_ready_signal_is_set(p):
    assert p.js("document.documentElement.dataset.bx24") == "ready"


# -- events ------------------------------------------------------------------------------------


def test_initialized_payload(p):
    p.stub(
        "raiseCall",
        {
            "CALL_ID": "c-1",
            "PHONE_NUMBER": None,
            "CRM_ENTITY_TYPE": "",
            "CRM_ENTITY_ID": 0,
            "CRM_ACTIVITY_ID": "",
            "CRM_BINDINGS": [{"ENTITY_TYPE": "DEAL", "ENTITY_ID": 9}],
            "CALL_DIRECTION": "outgoing",
            "CALL_STATE": "connecting",
        },
        {},
    )
    records = p.wait_received(1)
    name, (info,) = records[0]
    assert name == "initialized"
    assert info == {
        "type": "CallInfo",
        "call_id": "c-1",
        "phone_number": None,
        "line_number": "line1",
        "line_name": "Sales line",
        "crm_entity_type": None,
        "crm_entity_id": None,
        "crm_activity_id": None,
        "crm_bindings": [{"type": "CrmBinding", "entity_type": "DEAL", "entity_id": 9}],
        "direction": "outgoing",
        "state": "connecting",
        "call_list_mode": False,
    }


PAYLOAD_EVENTS = [
    (
        "entityChanged",
        {"PHONE_NUMBER": "+7999", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 5},
        [
            {
                "type": "Entity",
                "phone_number": "+7999",
                "crm_entity_type": "LEAD",
                "crm_entity_id": 5,
            }
        ],
    ),
    (
        "entityChanged",
        {"PHONE_NUMBER": "unknown", "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": 0},
        [{"type": "Entity", "phone_number": None, "crm_entity_type": None, "crm_entity_id": None}],
    ),
    ("addCommentButtonClick", "call back at 5", ["call back at 5"]),
    ("muteButtonClick", True, [True]),
    ("holdButtonClick", False, [False]),
    (
        "transferButtonClick",
        {"phoneNumber": "+7999", "target": "17"},
        [
            {
                "type": "TransferTarget",
                "phone_number": "+7999",
                "target": "17",
                "is_user": True,
                "is_phone": False,
                "user_id": 17,
            }
        ],
    ),
    (
        "transferButtonClick",
        {"phoneNumber": "+7999", "target": "+74950000000"},
        [
            {
                "type": "TransferTarget",
                "phone_number": "+7999",
                "target": "+74950000000",
                "is_user": False,
                "is_phone": True,
                "user_id": None,
            }
        ],
    ),
    ("qualityMeterClick", "4", [4]),
    ("dialpadButtonClick", "#", ["#"]),
]


@pytest.mark.parametrize("event,payload,args", PAYLOAD_EVENTS)
def test_payload_events(p, event, payload, args):
    p.stub("fire", event, payload)
    assert p.wait_received(1) == [[event, args]]


NO_PAYLOAD = [
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


def test_events_without_payload_in_order(p):
    for event in NO_PAYLOAD:
        p.stub("fire", event)
    assert p.wait_received(len(NO_PAYLOAD)) == [[event, []] for event in NO_PAYLOAD]


def test_clicks_on_the_card_reach_python(p):
    p.raise_call()
    p.run("set_ui_state", "connected")
    p.stub("click", "dialpad", "5")
    p.stub("click", "quality", "3")
    p.stub("click", "hangup")
    assert p.wait_received(3) == [
        ["dialpadButtonClick", ["5"]],
        ["qualityMeterClick", [3]],
        ["hangupButtonClick", []],
    ]


def test_malformed_payload_is_logged_and_dispatch_goes_on(p):
    p.stub("fire", "dialpadButtonClick", {"key": 5})
    p.stub("fire", "qualityMeterClick", "9")
    p.stub("fire", "dialpadButtonClick", "1")
    assert p.wait_received(1) == [["dialpadButtonClick", ["1"]]]
    logged = p.logged()
    assert any("dialpadButtonClick" in line for line in logged)
    assert any("qualityMeterClick" in line for line in logged)


def test_a_raising_handler_is_logged_with_traceback_and_others_run(p):
    p.stub("fire", "muteButtonClick", True)
    assert p.wait_received(1) == [["muteButtonClick", [True]]]
    text = "\n".join(p.logged())
    assert "broken" in text and "this handler always fails" in text and "Traceback" in text


def test_async_handlers_run_and_can_send_commands(p):
    p.stub("raiseCall", {}, {})
    p.frame.target.wait_for_function(
        "() => JSON.parse(window.probeReceived()).some(r => r[0] === 'async initialized')"
    )
    assert ["async initialized", 12] in p.received()


# -- commands ------------------------------------------------------------------------------

COMMANDS = [
    ("set_mute", (True,), {}, "CallCardSetMute", {"muted": True}),
    ("set_hold", (True,), {}, "CallCardSetHold", {"held": True}),
    (
        "set_ui_state",
        ("connected",),
        {"auto_start_timer": False},
        "CallCardSetUiState",
        {"uiState": "connected", "disableAutoStartTimer": True},
    ),
    ("set_title", ("Incoming call +7",), {}, "CallCardSetCardTitle", {"title": "Incoming call +7"}),
    ("set_status_text", ("Talking",), {}, "CallCardSetStatusText", {"statusText": "Talking"}),
    ("start_timer", (), {}, "CallCardStartTimer", {}),
    ("stop_timer", (), {}, "CallCardStopTimer", {}),
    ("close", (), {}, "CallCardClose", {}),
]


@pytest.mark.parametrize("method,args,kwargs,command,params", COMMANDS)
def test_each_command_reaches_the_card(p, method, args, kwargs, command, params):
    p.raise_call()
    result = p.run(method, *args, **kwargs)
    assert "error" not in result, result
    assert [(c["command"], c["params"]) for c in p.stub("commands") if c["command"] == command] == [
        (command, params)
    ]


def test_commands_change_the_card_and_the_known_state(p):
    p.raise_call()
    for method, args in [
        ("set_ui_state", ("connected",)),
        ("set_mute", (True,)),
        ("set_hold", (True,)),
        ("set_title", ("T",)),
        ("set_status_text", ("S",)),
    ]:
        result = p.run(method, *args)
        assert "error" not in result, result
    card = p.stub("card")
    assert (card["state"], card["muted"], card["held"], card["title"], card["statusText"]) == (
        "connected",
        True,
        True,
        "T",
        "S",
    )
    assert card["timer"]["running"] is True
    assert result["state"]["timer_running"] is True and result["state"]["active"] is True
    result = p.run("stop_timer")
    assert p.stub("card")["timer"]["running"] is False and result["state"]["timer_running"] is False
    result = p.run("close")
    assert p.stub("card")["closed"] is True and result["state"]["active"] is False


def test_ui_states_work_without_a_card(p):
    result = p.run("ui_states")
    assert result["ok"] == p.js("BX24Stub.UI_STATES")


@pytest.mark.parametrize("method,args,command", [(m, a, c) for m, a, k, c, _ in COMMANDS])
def test_card_undefined_for_every_command_without_a_card(p, method, args, command):
    result = p.run(method, *args)
    error = result["error"]
    assert (error["type"], error["command"], error["code"], error["raw"]) == (
        "CardUndefinedError",
        command,
        "Call card is undefined",
        CARD_UNDEFINED,
    )


def test_invalid_ui_state_answer(p):
    p.raise_call()
    p.override(
        "CallCardSetUiState", {"answer": [{"result": "error", "errorCode": "Invalid ui state"}]}
    )
    assert p.run("set_ui_state", "redial")["error"]["type"] == "InvalidUiStateError"


def test_bare_object_missing_field_muted(p):
    p.raise_call()
    raw = {"result": "error", "errorCode": "missing field muted"}
    p.override("CallCardSetMute", {"answer": raw})
    error = p.run("set_mute", True)["error"]
    assert (error["type"], error["field"], error["raw"]) == ("MissingFieldError", "muted", raw)


def test_unknown_error_keeps_its_raw_data(p):
    p.raise_call()
    raw = [{"result": "error", "errorCode": "Brand new", "extra": 1}]
    p.override("CallCardSetCardTitle", {"answer": raw})
    error = p.run("set_title", "x")["error"]
    assert (error["type"], error["code"], error["raw"]) == ("CommandError", "Brand new", raw)


def test_argument_checks_in_the_browser(p):
    assert p.run("set_ui_state", "talking")["error"]["type"] == "ValueError"
    assert p.run("set_mute", "yes")["error"]["type"] == "TypeError"
    assert p.stub("commands") == []


def test_no_answer_is_a_timeout_naming_the_command(p):
    p.raise_call()
    p.override("CallCardSetCardTitle", "silent")
    error = p.run("set_title", "x")["error"]
    assert error["type"] == "CommandTimeoutError" and "CallCardSetCardTitle" in error["message"]


def test_timer_success_without_callback(p):
    p.raise_call()
    result = p.run("start_timer")
    assert result["ok"] is None and result["state"]["timer_running"] is True
    entry = [c for c in p.stub("commands") if c["command"] == "CallCardStartTimer"][0]
    assert entry["answered"] is False  # the stub, like the browser, sent no callback


def test_timer_late_card_undefined_is_reported(p):
    p.raise_call()
    p.override("CallCardStartTimer", {"answer": CARD_UNDEFINED, "delay": 600})
    result = p.run("start_timer")
    assert result["ok"] is None
    p.frame.target.wait_for_function(
        "() => JSON.parse(window.probeLate()).length > 0", timeout=5000
    )
    (error,) = json.loads(p.js("window.probeLate()"))
    assert (error["type"], error["command"]) == ("CardUndefinedError", "CallCardStartTimer")
    state = json.loads(p.js("window.probeState()"))
    assert (state["active"], state["timer_running"]) == (False, False)


def test_timer_error_within_grace_raises(p):
    result = p.run("start_timer")  # no card: the stub answers the error at once
    assert result["error"]["type"] == "CardUndefinedError"


# -- placement ---------------------------------------------------------------------------


def test_placement_info_and_interface(p):
    info = p.run("placement_info")["ok"]
    assert info["name"] == "PAGE_BACKGROUND_WORKER" and info["uri"] == "/crm/deal/"
    interface = p.run("get_interface")["ok"]
    assert len(interface["commands"]) == 9 and len(interface["events"]) == 17
