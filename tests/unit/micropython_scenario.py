# Runs inside MicroPython (see test_micropython.py): the pure bx24 modules must
# work there as they do in CPython. Top-level await: run with runPythonAsync.
import asyncio
import json

import bx24

INITIALIZED = {
    "CALL_ID": "c1",
    "PHONE_NUMBER": "+7999",
    "LINE_NUMBER": "1",
    "LINE_NAME": "",
    "CRM_ENTITY_TYPE": "",
    "CRM_ENTITY_ID": 0,
    "CRM_BINDINGS": [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": "4"}],
    "CALL_DIRECTION": "incoming",
    "CALL_STATE": "connecting",
    "CALL_LIST_MODE": False,
}
PAYLOADS = {
    "initialized": INITIALIZED,
    "entityChanged": {"PHONE_NUMBER": "unknown", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": "3"},
    "addCommentButtonClick": "hi",
    "muteButtonClick": True,
    "holdButtonClick": False,
    "transferButtonClick": {"phoneNumber": "+7999", "target": "12"},
    "qualityMeterClick": "4",
    "dialpadButtonClick": "#",
}


class Bridge:
    def __init__(self):
        self.replies = {}
        self.sent = []
        self.receive = None

    async def call(self, command, params_json, wait_ms):
        self.sent.append((command, json.loads(params_json), wait_ms))
        return json.dumps(self.replies.get(command, {"status": "answer", "data": []}))

    async def info(self, wait_ms):
        return json.dumps(
            {
                "status": "answer",
                "data": {"placement": "PAGE_BACKGROUND_WORKER", "options": {"URI": "/x/"}},
            }
        )

    async def get_interface(self, wait_ms):
        return json.dumps({"status": "answer", "data": {"command": [], "event": []}})

    def attach(self, receive):
        self.receive = receive

    def fire(self, name, payload=None):
        message = {"type": "event", "name": name}
        if payload is not None:
            message["payload"] = payload
        self.receive(json.dumps(message))


logs = []
bridge = Bridge()
card = bx24.CallCard(bridge, log=logs.append)
got = []
for name in bx24.EVENTS:

    def handler(*args, name=name):
        got.append((name, args))

    card.on(name)(handler)


@card.on("initialized")
async def greet(call):
    await card.set_title("Incoming call " + call.phone_number)


card.attach()
for name in bx24.EVENTS:
    bridge.fire(name, PAYLOADS.get(name))
bridge.fire("dialpadButtonClick", "garbage")
await asyncio.sleep(0.01)
assert [n for n, a in got] == list(bx24.EVENTS), got
args = dict(got)
assert args["initialized"][0].crm_bindings == [bx24.CrmBinding("LEAD", 4)]
assert args["entityChanged"][0].phone_number is None and args["entityChanged"][0].crm_entity_id == 3
assert args["transferButtonClick"][0].user_id == 12
assert args["qualityMeterClick"] == (4,) and args["hangupButtonClick"] == ()
assert len(logs) == 1 and "dialpadButtonClick" in logs[0], logs
assert bridge.sent[0][:2] == ("CallCardSetCardTitle", {"title": "Incoming call +7999"})

await card.set_ui_state("connected")
assert card.timer_running and card.ui_state == "connected"
bridge.replies["CallCardSetMute"] = {
    "status": "answer",
    "data": {"result": "error", "errorCode": "missing field muted"},
}
try:
    await card.set_mute(True)
    raise AssertionError("no error")
except bx24.MissingFieldError as error:
    assert error.field == "muted"
bridge.replies["CallCardClose"] = {"status": "no_answer"}
try:
    await card.close()
    raise AssertionError("no timeout")
except bx24.CommandTimeoutError as error:
    assert "CallCardClose" in str(error)
bridge.replies["CallCardStopTimer"] = {"status": "no_answer"}
await card.stop_timer()
assert not card.timer_running
bridge.receive(
    json.dumps(
        {
            "type": "late",
            "command": "CallCardStopTimer",
            "data": [{"result": "error", "errorCode": "Call card is undefined"}],
        }
    )
)
assert isinstance(card.last_late_error, bx24.CardUndefinedError) and not card.active
try:
    await card.set_ui_state("talking")
    raise AssertionError("no ValueError")
except ValueError:
    pass


# REST and a whole call, over a bridge that also plays the portal's REST server.
class Portal(Bridge):
    def __init__(self):
        super().__init__()
        self.rest_log = []

    async def rest(self, method, body, wait_ms):
        self.rest_log.append((method, body))
        params = dict(pair.split("=", 1) for pair in body.split("&") if pair)
        if method == "broken":
            return json.dumps(
                {"status": "answer", "data": {"http": 503, "text": "<html>busy</html>"}}
            )
        if method == "crm.lead.list":
            start = int(params.get("start", "0"))
            answer = {"result": list(range(start, min(start + 50, 120))), "total": 120}
            if start + 50 < 120:
                answer["next"] = start + 50
        elif method == "batch":
            answer = {
                "result": {
                    "result": {"me": {"ID": "7"}},
                    "result_error": {"bad": {"error": "ERROR_CORE", "error_description": "no"}},
                }
            }
        else:
            answer = {
                "result": {
                    "user.current": {"ID": "7"},
                    "telephony.externalcall.register": {"CALL_ID": "C-1"},
                    "telephony.externalcall.finish": {"ID": "1"},
                }[method]
            }
        return json.dumps({"status": "answer", "data": {"http": 200, "json": answer}})

    def on_page_hide(self, handler):
        self.page_hide = handler


portal = Portal()
rest = bx24.Rest(portal)
leads = []
async for lead in rest.list("crm.lead.list", {"SELECT": ["ID"]}):
    leads.append(lead)
assert leads == list(range(120)), leads
# (MicroPython's dicts keep no order: the params' order in a body may vary, never the params)
assert [sorted(b.split("&")) for m, b in portal.rest_log] == [
    ["SELECT[0]=ID"],
    ["SELECT[0]=ID", "start=50"],
    ["SELECT[0]=ID", "start=100"],
], portal.rest_log
try:
    await rest.call("broken")
    raise AssertionError("no RestError")
except bx24.RestError as error:
    assert error.status == 503 and error.code is None, error
both = await rest.batch({"me": ("user.current", None), "bad": ("x.y", {"A": False})})
assert both["me"].data == {"ID": "7"} and isinstance(both["bad"], bx24.RestError), both

now = [100.0]
said = []
ended = []
phone_card = bx24.CallCard(portal, log=logs.append)
phone = bx24.StandInSoftphone(say=said.append)
calls = bx24.Calls(phone_card, bx24.Telephony(rest), phone, line_number="1", clock=lambda: now[0])
calls.on("ended")(ended.append)
calls.start()
call = phone.ring("+7999")
await asyncio.sleep(0.01)
portal.fire("initialized", dict(INITIALIZED, CALL_ID="C-1"))
await asyncio.sleep(0.01)
assert calls.current is call and call.call_id == "C-1", call
portal.fire("answerButtonClick")
await asyncio.sleep(0.01)
now[0] += 42
portal.fire("hangupButtonClick")
await asyncio.sleep(0.01)
assert call.state == "ended" and call.status == "200" and call.duration == 42 and ended == [call], (
    call
)
finish = [b for m, b in portal.rest_log if m == "telephony.externalcall.finish"]
assert len(finish) == 1 and "DURATION=42" in finish[0] and "STATUS_CODE=200" in finish[0], finish
assert said == ["answer the call from +7999", "hang up"], said
print("MICROPYTHON OK")
