"""A fake bridge speaking the same JSON protocol as bridge.js, so CallCard's
logic (including the JSON decoding) is tested in CPython."""

import asyncio
import json
import threading


OMIT = object()  # a payload JavaScript passes as undefined: the key is absent from the JSON


class FakeBridge:
    def __init__(self):
        self.placement = {"placement": "PAGE_BACKGROUND_WORKER",
                          "options": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"}}
        self.interface = {"command": ["CallCardSetMute"], "event": ["BackgroundCallCard::initialized"]}
        self.replies = {}       # command -> envelope dict; default {"status": "answer", "data": []}
        self.rest_replies = {}  # REST method -> envelope dict (what bridge.js's callMethod resolves)
        self.rest_sent = []     # (method, params, wait_ms)
        self.sent = []          # (command, params, wait_ms)
        self.info_requests = []
        self.queue = []         # messages before attach, like bridge.js
        self.receiver = None

    # what CallCard uses
    async def call(self, command, params_json, wait_ms):
        self.sent.append((command, json.loads(params_json), wait_ms))
        return json.dumps(self.replies.get(command, {"status": "answer", "data": []}))

    async def call_method(self, method, params_json, wait_ms):
        self.rest_sent.append((method, json.loads(params_json), wait_ms))
        return json.dumps(self.rest_replies[method])

    async def info(self, wait_ms):
        self.info_requests.append(wait_ms)
        if self.placement is None:
            return json.dumps({"status": "no_answer"})
        return json.dumps({"status": "answer", "data": self.placement})

    async def get_interface(self, wait_ms):
        return json.dumps({"status": "answer", "data": self.interface})

    def attach(self, receive):
        self.receiver = receive
        while self.queue:
            receive(self.queue.pop(0))

    # what tests use
    def answer(self, command, data=OMIT):
        envelope = {"status": "answer"}
        if data is not OMIT:
            envelope["data"] = data
        self.replies[command] = envelope

    def silence(self, command):
        self.replies[command] = {"status": "no_answer"}

    def send_raw(self, text):
        if self.receiver:
            self.receiver(text)
        else:
            self.queue.append(text)

    def fire(self, name, payload=OMIT):
        message = {"type": "event", "name": name}
        if payload is not OMIT:
            message["payload"] = payload
        self.send_raw(json.dumps(message))

    def late(self, command, data):
        self.send_raw(json.dumps({"type": "late", "command": command, "data": data}))


def run(coroutine):
    """Run ``coroutine`` to completion on a fresh event loop in its own thread: the
    Playwright tests of the same pytest session keep a loop running in the main thread."""
    return in_thread(lambda: asyncio.run(coroutine))


def in_thread(function):
    """``function()`` in a new thread (where no event loop runs); its result or exception."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


INITIALIZED = {
    "CALL_ID": "externalCall.abc.123",
    "PHONE_NUMBER": "+79991234567",
    "LINE_NUMBER": "74951234567",
    "LINE_NAME": "Sales",
    "CRM_ENTITY_TYPE": "CONTACT",
    "CRM_ENTITY_ID": 42,
    "CRM_ACTIVITY_ID": 7,
    "CRM_BINDINGS": [{"ENTITY_TYPE": "CONTACT", "ENTITY_ID": 42}],
    "CALL_DIRECTION": "incoming",
    "CALL_STATE": "connecting",
    "CALL_LIST_MODE": False,
}
