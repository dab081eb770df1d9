"""Bitrix24 in CPython, for unit tests of call logic: no browser, no pytest needed.

    import bx24
    from bx24_testing.fake import FakePortal, run

    portal = FakePortal()
    calls = portal.calls(bx24.StandInSoftphone())     # your Calls, over the fake portal

    async def scenario():
        call = calls.incoming("+15550001122")         # the softphone rings
        await portal.settle()                         # registered, the card shown
        portal.click("answer")
        await portal.settle()
        portal.advance(42)                            # 42 s of talk
        portal.click("hangup")
        await portal.settle()
        assert portal.rest_calls("telephony.externalcall.finish")[-1]["params"]["DURATION"] == "42"

    run(scenario())                                   # bx24_testing.fake.run

:class:`FakePortal` plays Bitrix24 the way the BX24 stub does in the browser, in less detail:
a card that answers commands (``Call card is undefined`` when there is none), fires the events
a test clicks, closes on ``CallCardClose``; REST answered from what the test programmed
(``respond``: the same answer shapes as ``BX24Stub.respond``), and without that, ``user.current``
and ``telephony.externalcall.*`` as Bitrix24 answers them, ``register`` with ``SHOW`` opening the
card with its ``CALL_ID``; a clock the test moves. :class:`FakeBridge` is the bridge protocol
underneath (``bx24.callcard``'s doc), for tests that want to answer each request themselves.
"""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import unquote_plus

OMIT = object()  # a payload JavaScript passes as undefined: the key is absent from the JSON
CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]
BUTTON_EVENTS = {
    "answer": "answerButtonClick", "skip": "skipButtonClick", "makeCall": "makeCallButtonClick",
    "hangup": "hangupButtonClick", "hold": "holdButtonClick", "mute": "muteButtonClick",
    "transfer": "transferButtonClick", "dialpad": "dialpadButtonClick",
    "qualityMeter": "qualityMeterClick", "completeTransfer": "completeTransferButtonClick",
    "cancelTransfer": "cancelTransferButtonClick", "close": "closeButtonClick",
    "notifyAdmin": "notifyAdminButtonClick", "addComment": "addCommentButtonClick",
    "next": "nextButtonClick",
}


def decode_form(body: str) -> dict:
    """A PHP-style form body as Bitrix24 reads it: ``a[b][0]=x`` → ``{"a": {"b": {"0": "x"}}}``."""
    out: dict = {}
    for pair in filter(None, (body or "").split("&")):
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        head, _, rest = name.partition("[")
        keys = [head] + ([part.rstrip("]") for part in ("[" + rest).split("[")[1:]] if rest else [])
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
        node[keys[-1]] = value
    return out


def run(coroutine):
    """Run ``coroutine`` to its end and return its result, on a fresh event loop in a thread of
    its own: ``asyncio.run`` refuses to run where a loop already runs, and Playwright's sync
    API (the browser tests of the same pytest session) keeps one running in the main thread."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error
    thread = threading.Thread(target=target, name="bx24-fake-run")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _envelope(data=OMIT):
    return json.dumps({"status": "answer"} if data is OMIT else {"status": "answer", "data": data})


class FakeBridge:
    """The bridge protocol (``bx24.callcard``'s doc) in CPython. By default commands answer
    ``[]`` and REST goes to ``portal`` (a :class:`FakePortal`); ``replies`` and
    ``rest_replies`` override one command or method with an envelope dict."""

    def __init__(self, portal: "FakePortal | None" = None):
        self.portal = portal
        self.placement = {"placement": "PAGE_BACKGROUND_WORKER",
                          "options": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"}}
        self.interface = {"command": ["CallCardSetMute"], "event": ["BackgroundCallCard::initialized"]}
        self.replies: dict = {}       # command -> envelope dict
        self.rest_replies: dict = {}  # REST method -> envelope dict (data: {http, json}...)
        self.rest_sent: list = []     # (method, body, wait_ms)
        self.sent: list = []          # (command, params, wait_ms)
        self.beacons: list = []       # (method, body)
        self.info_requests: list = []
        self.queue: list = []         # messages before attach, like bridge.js
        self.receiver = None
        self.page_hide = None
        self.auth_refreshes = 0

    # -- what bx24 uses ----------------------------------------------------------------------

    async def call(self, command, params_json, wait_ms):
        params = json.loads(params_json)
        self.sent.append((command, params, wait_ms))
        if command in self.replies:
            return json.dumps(self.replies[command])
        if self.portal is not None:
            return self.portal._command(command, params)
        return _envelope([])

    async def rest(self, method, body, wait_ms):
        self.rest_sent.append((method, body, wait_ms))
        if method in self.rest_replies:
            return json.dumps(self.rest_replies[method])
        if self.portal is not None:
            return json.dumps({"status": "answer", "data": self.portal._rest(method, body)})
        raise KeyError(f"no REST reply for {method}")

    async def refresh_auth(self, wait_ms):
        self.auth_refreshes += 1
        if self.portal is not None:
            self.portal.token_expired = False
        return _envelope(True)

    def beacon(self, method, body):
        self.beacons.append((method, body))
        if self.portal is not None:
            self.portal._rest(method, body)

    def on_page_hide(self, handler):
        self.page_hide = handler

    async def info(self, wait_ms):
        self.info_requests.append(wait_ms)
        if self.placement is None:
            return json.dumps({"status": "no_answer"})
        return _envelope(self.placement)

    async def get_interface(self, wait_ms):
        return _envelope(self.interface)

    def attach(self, receive):
        self.receiver = receive
        while self.queue:
            receive(self.queue.pop(0))

    # -- what tests use --------------------------------------------------------------------------

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


class FakePortal:
    """Bitrix24 as bx24 sees it, in CPython (see the module doc)."""

    PAGE_SIZE = 50

    def __init__(self, user_id: int = 1):
        self.bridge = FakeBridge(self)
        self.user_id = user_id
        self.now = 1000.0
        self.card_open = False
        self.call: dict | None = None      # the initialized payload of the open card
        self.token_expired = False
        self._responses: dict = {}
        self._rest_log: list = []
        self._registered: dict = {}        # CALL_ID -> register params
        self._dedup: dict = {}
        self._serial = 0
        self._sleeps: list = []
        self._later: list = []
        # False: the card opens after register's answer is back, on the next settle()
        # (Bitrix24 does not say which comes first; True: before it).
        self.card_before_answer = True
        self.page_calls = None             # the bx24.calls() of an app run by load_app
        self.phone_inner = "101"           # user.current's UF_PHONE_INNER
        self.user_options: dict = {}       # what user.option.get reads
        self.softphone = FakeSipPhone()    # the SIP phone of bx24.sip_softphone, and its far end

    # -- wiring bx24 to it ----------------------------------------------------------------------

    def card(self, **options):
        import bx24
        return bx24.CallCard(self.bridge, **options)

    def rest(self, **options):
        import bx24

        async def sleep(seconds):   # retries do not wait: the clock moves instead
            self._sleeps.append(seconds)
            self.now += seconds
        options.setdefault("sleep", sleep)
        return bx24.Rest(self.bridge, **options)

    def telephony(self):
        import bx24
        counter = iter(range(1, 1_000_000))
        return bx24.Telephony(self.rest(), new_external_id=lambda: f"fake-{next(counter)}")

    def calls(self, softphone, card=None, **options):
        """A :class:`bx24.Calls` over this portal, on its clock; the card attached (the page is
        alone: it leads, so a :class:`bx24.SipSoftphone` starts)."""
        import bx24
        calls = bx24.Calls(card or self.card(), self.telephony(), softphone, clock=self.clock,
                           **options)
        return calls.start()

    def clock(self) -> float:
        return self.now

    async def load_app(self, main_py) -> dict:
        """Run an app's ``main.py`` (top-level ``await`` allowed, its folder importable) with
        the page functions of ``bx24`` (``card``, ``rest``, ``telephony``, ``calls``) bound to
        this portal while it runs, as they are bound to the browser in the page. Returns the
        module's globals: the test reaches the app's objects (``app["softphone"]``...).
        ``self.page_calls`` is the :class:`bx24.Calls` it made, if any."""
        import ast
        import inspect
        import sys
        from pathlib import Path

        import bx24

        path = Path(main_py)
        code = compile(path.read_text(), str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        page = self._page_functions()
        saved = {name: getattr(bx24, name) for name in page}
        namespace = {"__name__": "__main__", "__file__": str(path)}
        sys.path.insert(0, str(path.parent))
        try:
            for name, function in page.items():
                setattr(bx24, name, function)
            result = eval(code, namespace)  # noqa: S307 - the app under test, by its path
            if inspect.iscoroutine(result):
                await result
        finally:
            for name, function in saved.items():
                setattr(bx24, name, function)
            sys.path.remove(str(path.parent))
        return namespace

    def _page_functions(self) -> dict:
        """``bx24.card()`` and friends as the page has them: one card, one Calls per page."""
        page: dict = {}

        def card(timeout=5.0, timer_grace=0.5, log=None):
            if "card" not in page:
                page["card"] = self.card(timeout=timeout, timer_grace=timer_grace, log=log)
            return page["card"]

        def rest(timeout=10.0, retries=3, backoff=1.0):
            return self.rest(timeout=timeout, retries=retries, backoff=backoff)

        def telephony(timeout=10.0):
            return self.telephony()

        def calls(softphone, line_number=None, user_id=None, log=None):
            import bx24
            if self.page_calls is None:
                self.page_calls = bx24.Calls(card(log=log), self.telephony(), softphone,
                                             line_number=line_number, user_id=user_id,
                                             log=log, clock=self.clock)
            return self.page_calls

        def sip_softphone(server, uri=None, **options):
            import bx24
            return bx24.SipSoftphone(server, uri, new_phone=self.softphone.create, **options)

        return {"card": card, "rest": rest, "telephony": telephony, "calls": calls,
                "sip_softphone": sip_softphone}

    def advance(self, seconds: float) -> None:
        """Move the clock (durations) by ``seconds``."""
        self.now += seconds

    async def settle(self, rounds: int = 20) -> None:
        """Let every task started so far run to its end (REST answers are immediate here)."""
        for _ in range(rounds):
            while self._later:
                self._later.pop(0)()
            await asyncio.sleep(0)

    # -- driving the card ---------------------------------------------------------------------

    def raise_call(self, **overrides) -> dict:
        """Open a card and fire ``initialized`` (a call Bitrix24 started: click-to-call...)."""
        self._serial += 1
        call = {"CALL_ID": f"externalCall.fake.{self._serial}", "PHONE_NUMBER": "+15550100001",
                "LINE_NUMBER": "line1", "LINE_NAME": "", "CRM_ENTITY_TYPE": "",
                "CRM_ENTITY_ID": 0, "CRM_BINDINGS": [], "CALL_DIRECTION": "incoming",
                "CALL_STATE": "idle", "CALL_LIST_MODE": False}
        for key, value in overrides.items():
            if value is None:
                call.pop(key, None)
            else:
                call[key] = value
        self.call = call
        self.card_open = True
        self._registered.setdefault(call["CALL_ID"], {})  # Bitrix24 knows the calls it shows
        self.bridge.fire("initialized", call)
        return call

    def fire(self, event: str, payload=OMIT) -> None:
        if event == "closeButtonClick":
            self.card_open = False
        self.bridge.fire(event, payload)

    def click(self, button: str, arg=OMIT) -> None:
        """A button of the card: ``"answer"``, ``"mute"`` (``arg`` True/False)...; the event it
        fires (transfer: ``arg`` the target)."""
        if not self.card_open:
            raise AssertionError(f'no open card to click "{button}" on')
        if button == "transfer":
            arg = {"phoneNumber": (self.call or {}).get("PHONE_NUMBER", ""), "target": str(arg)}
        self.fire(BUTTON_EVENTS[button], arg)

    @property
    def commands(self) -> list:
        """Every card command sent: ``(command, params)``."""
        return [(command, params) for command, params, _ in self.bridge.sent]

    # -- REST ---------------------------------------------------------------------------------

    def respond(self, method: str, answer) -> None:
        """Program ``method``'s answers (one, or a list given out in turn): ``{"result": ...}``,
        ``{"error": ..., "error_description": ..., "status": 503}``, ``{"status": 502,
        "body": "<html>"}``, ``{"network": True}``, ``{"items": [...]}`` (paged by ``start``)."""
        answers = answer if isinstance(answer, list) else [answer]
        self._responses[method.lower()] = {"answers": answers, "served": 0}

    def rest_calls(self, method: str | None = None) -> list:
        """The REST calls made (``{"method", "params", "batch"}``), of ``method`` if given."""
        return [c for c in self._rest_log if method is None or c["method"].lower() == method.lower()]

    def _rest(self, method: str, body: str) -> dict:
        if self.token_expired:
            return {"http": 401, "json": {"error": "expired_token"}}
        params = decode_form(body)
        if method.lower() != "batch":
            return self._serve(method, params, False)
        out = {"result": {}, "result_error": {}, "result_total": {}, "result_next": {}}
        for key, command in (params.get("cmd") or {}).items():
            name, _, query = command.partition("?")
            answer = self._serve(name, decode_form(query), True).get("json") or {}
            if "error" in answer:
                out["result_error"][key] = {"error": answer["error"],
                                            "error_description": answer.get("error_description", "")}
                if params.get("halt") in ("1", "true"):
                    break
            else:
                out["result"][key] = answer.get("result")
                for field in ("total", "next"):
                    if field in answer:
                        out["result_" + field][key] = answer[field]
        return {"http": 200, "json": {"result": out}}

    def _serve(self, method: str, params: dict, batch: bool) -> dict:
        self._rest_log.append({"method": method, "params": params, "batch": batch})
        programmed = self._responses.get(method.lower())
        if programmed is not None:
            answers = programmed["answers"]
            answer = answers[min(programmed["served"], len(answers) - 1)]
            programmed["served"] += 1
            return self._programmed(answer, params)
        built_in = getattr(self, "_" + method.lower().replace(".", "_"), None)
        if built_in is not None:
            return built_in(params)
        return {"http": 400, "json": {"error": "ERROR_METHOD_NOT_FOUND",
                                      "error_description": f"no answer programmed for {method}"}}

    def _programmed(self, answer: dict, params: dict) -> dict:
        if answer.get("network"):
            return {"network": "Failed to fetch"}
        if "body" in answer:
            return {"http": answer.get("status", 200), "text": str(answer["body"])}
        if "items" in answer:
            start = int(params.get("start") or 0)
            page = {"result": answer["items"][start:start + self.PAGE_SIZE],
                    "total": len(answer["items"])}
            if start + self.PAGE_SIZE < len(answer["items"]):
                page["next"] = start + self.PAGE_SIZE
            return {"http": 200, "json": page}
        body = {k: v for k, v in answer.items() if k != "status"}
        return {"http": answer.get("status", 400 if "error" in answer else 200), "json": body}

    @staticmethod
    def _core_error(description: str) -> dict:
        return {"http": 400, "json": {"error": "ERROR_CORE", "error_description": description}}

    def _user_current(self, params):
        return {"http": 200, "json": {"result": {"ID": str(self.user_id), "NAME": "Operator",
                                                 "UF_PHONE_INNER": self.phone_inner}}}

    def _user_option_get(self, params):
        if "option" not in params:
            return {"http": 200, "json": {"result": dict(self.user_options)}}
        return {"http": 200, "json": {"result": self.user_options.get(params["option"], "")}}

    def _telephony_externalcall_register(self, params):
        if not (params.get("USER_ID") or params.get("USER_PHONE_INNER")):
            return self._core_error("USER_ID or USER_PHONE_INNER should be set")
        if not params.get("PHONE_NUMBER"):
            return self._core_error("PHONE_NUMBER should be set")
        if params.get("TYPE") not in ("1", "2", "3", "4", "5"):
            return self._core_error("Unknown TYPE")
        key = tuple(params.get(k, "") for k in (
            "PHONE_NUMBER", "TYPE", "USER_ID", "USER_PHONE_INNER", "LINE_NUMBER",
            "EXTERNAL_CALL_ID"))
        if key not in self._dedup:
            self._serial += 1
            self._dedup[key] = f"externalCall.fake.{self._serial}"
        call_id = self._dedup[key]
        self._registered[call_id] = params
        if params.get("SHOW", "1") not in ("0", "false"):
            direction = {"1": "outgoing", "4": "callback"}.get(params["TYPE"], "incoming")
            self.call = {"CALL_ID": call_id, "PHONE_NUMBER": params["PHONE_NUMBER"],
                         "LINE_NUMBER": params.get("LINE_NUMBER", ""), "LINE_NAME": "",
                         "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": 0, "CRM_BINDINGS": [],
                         "CALL_DIRECTION": direction, "CALL_STATE": "idle",
                         "CALL_LIST_MODE": False}
            self.card_open = True
            shown = self.call
            if self.card_before_answer:
                self.bridge.fire("initialized", shown)
            else:
                self._later.append(lambda: self.bridge.fire("initialized", shown))
        return {"http": 200, "json": {"result": {"CALL_ID": call_id, "CRM_CREATED_LEAD": None,
                                                 "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": None}}}

    def _telephony_externalcall_finish(self, params):
        if params.get("CALL_ID") not in self._registered:
            return self._core_error("Call is not found (call should be registered prior to "
                                    "finishing)")
        return {"http": 200, "json": {"result": {
            "CALL_ID": params["CALL_ID"], "CALL_DURATION": int(params.get("DURATION") or 0),
            "CALL_FAILED_CODE": params.get("STATUS_CODE", "200")}}}

    def _telephony_externalcall_show(self, params):
        return {"http": 200, "json": {"result": True}}

    def _telephony_externalcall_hide(self, params):
        if self.call and self.call.get("CALL_ID") == params.get("CALL_ID"):
            self.card_open = False
        return {"http": 200, "json": {"result": True}}

    # -- card commands ------------------------------------------------------------------------

    def _command(self, command: str, params: dict) -> str:
        if command == "CallCardGetListUiStates":
            import bx24
            return _envelope(list(bx24.UI_STATES))
        if not self.card_open:
            return _envelope(CARD_UNDEFINED)
        if command == "CallCardClose":
            self.card_open = False
        if command in ("CallCardStartTimer", "CallCardStopTimer"):
            return json.dumps({"status": "no_answer"})  # the browser's success: no callback
        return _envelope([])


class FakeSipPhone:
    """The phone under :class:`bx24.SipSoftphone` without a SIP server (what the page's
    ``sip-stub.js`` is in the browser): it registers at once, records what the app asked
    (``said``: ``"answer the call from +1555..."``, ``"hang up"``...), and plays the far end:
    :meth:`ring`, :meth:`pick_up`, :meth:`hang_up`, :meth:`fail`. ``options``: what the app
    gave the phone (the password included: never printed)."""

    def __init__(self):
        self.said: list[str] = []
        self.options: dict | None = None
        self.registered = False
        self._receive = None
        self._calls: list[dict] = []
        self._serial = 0

    async def create(self, options_json, receive):
        self.options = json.loads(options_json)
        self._receive = receive
        self.registered = True
        self._emit(type="registration", state="registered", cause=None, code=None)
        return self

    def _emit(self, **event):
        if self._receive is not None:
            self._receive(json.dumps(event))

    def _say(self, text):
        self.said.append(text)

    def _find(self, handle):
        for call in self._calls:
            if call["id"] == handle:
                return call
        raise RuntimeError(f"no SIP session {handle}")

    def _newest(self):
        live = [c for c in self._calls if not c["ended"]]
        return live[-1] if live else None

    # the far end
    def ring(self, number, line=None):
        """A call comes in from ``number``."""
        if not self.registered:
            raise AssertionError("the app's SIP phone is not registered: no call can ring")
        self._serial += 1
        call = {"id": f"in-{self._serial}", "number": str(number), "ended": False}
        self._calls.append(call)
        self._emit(type="incoming", id=call["id"], number=call["number"], display=None)

    def pick_up(self):
        call = self._newest()
        if call:
            self._emit(type="answered", id=call["id"])

    def hang_up(self):
        call = self._newest()
        if call:
            call["ended"] = True
            self._emit(type="ended", id=call["id"], originator="remote", cause="Terminated")

    def fail(self, status, reason=None):
        call = self._newest()
        if call:
            call["ended"] = True
            self._emit(type="failed", id=call["id"], originator="remote", cause=reason,
                       code=str(status))

    # what the app asks (the phone API of bx24.sip)
    def call(self, target):
        self._serial += 1
        number = str(target).removeprefix("sip:").split("@")[0]
        self._calls.append({"id": f"out-{self._serial}", "number": number, "ended": False})
        self._say("dial " + number)
        return f"out-{self._serial}"

    def answer(self, handle):
        self._say("answer the call from " + self._find(handle)["number"])

    def reject(self, handle, code):
        self._find(handle)["ended"] = True
        self._say(f"reject the call ({code})")

    def hangup(self, handle):
        call = self._find(handle)
        if not call["ended"]:
            call["ended"] = True
            self._say("hang up")

    def mute(self, handle, on):
        self._say("microphone " + ("muted" if on else "on"))

    def hold(self, handle, on):
        self._say("call " + ("held" if on else "resumed"))

    def dtmf(self, handle, key):
        self._say("DTMF " + key)

    def transfer(self, handle, target):
        self._find(handle)["ended"] = True
        self._say("transfer to " + str(target).removeprefix("sip:").split("@")[0])

    def stop(self):
        self.registered = False
        for call in self._calls:
            call["ended"] = True
