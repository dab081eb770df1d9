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

:class:`FakePortal` plays Bitrix24 the way the BX24 stub does in the browser: REST answered by
the kit's one model of Bitrix24 (:class:`bx24_testing.bitrix24.Portal`, ``portal.model``: the
very answers the stub's portal gives, programmed ones with ``respond``), a card that answers
commands (``Call card is undefined`` when there is none), fires the events a test clicks,
closes on ``CallCardClose``, opens when ``register`` with ``SHOW`` succeeds; a clock the test
moves. :class:`FakeBridge` is the bridge protocol underneath (``bx24.callcard``'s doc), for
tests that want to answer each request themselves.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from .bitrix24 import Portal, decode_form  # noqa: F401  (decode_form: where tests found it)
from .cardmodel import (  # noqa: F401  (BUTTON_EVENTS: the buttons click() takes)
    BUTTON_EVENTS,
    CARD_UNDEFINED,
    COMMANDS,
    PREFIX,
    UI_STATES,
    WITHOUT_CARD,
    Card,
    Refused,
)


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT = _Omit()  # a payload JavaScript passes as undefined: the key is absent from the JSON


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
        self.placement = {
            "placement": "PAGE_BACKGROUND_WORKER",
            "options": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"},
        }
        self.interface = {
            "command": ["CallCardSetMute"],
            "event": ["BackgroundCallCard::initialized"],
        }
        self.replies: dict = {}  # command -> envelope dict
        self.rest_replies: dict = {}  # REST method -> envelope dict (data: {http, json}...)
        self.rest_sent: list = []  # (method, body, wait_ms)
        self.sent: list = []  # (command, params, wait_ms)
        self.beacons: list = []  # (method, body)
        self.info_requests: list = []
        self.queue: list = []  # messages before attach, like bridge.js
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
            self.portal._refresh()
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

    def __init__(
        self, user_id: int = 1, model: Portal | None = None, interpreter: str | None = None
    ):
        from .micropython import INTERPRETERS, default_interpreter

        # where load_app runs the app: "cpython", or "micropython" (the frame's own, in Node:
        # bx24_testing.micropython); None: BX24_FAKE_INTERPRETER's (pytest's
        # --bx24-fake-interpreter), else CPython
        self.interpreter = interpreter or default_interpreter()
        if self.interpreter not in INTERPRETERS:
            raise ValueError(f"interpreter is one of {INTERPRETERS}, not {interpreter!r}")
        self.micropython: Any = None  # its MicroPythonApp, once load_app started it
        self.bridge = FakeBridge(self)
        self.user_id = user_id
        self.now = 1000.0
        # The portal: REST, the application, the users (the stub's portal answers the same).
        self.model = model or Portal(clock=self.clock)
        if user_id not in self.model.users:  # an operator of that id
            self.model.users[user_id] = {**self.model.user(1), "ID": str(user_id)}
        self.session = self.model.open_session(user_id)
        self.card_shown: Card | None = None  # the card Bitrix24 shows (bx24_testing.cardmodel)
        self.mode = "browser"  # or "desktop": how the card answers
        self._serial = 0
        self._sleeps: list = []
        self._later: list = []
        # False: the card opens after register's answer is back, on the next settle()
        # (Bitrix24 does not say which comes first; True: before it).
        self.card_before_answer = True
        self._page: dict = {}  # what bx24.page made for the app load_app runs: its card, Calls
        self._external_ids = 0
        self.softphone = FakeSipPhone()  # the SIP phone of bx24.sip_softphone, and its far end
        self.allow_duplicate_calls = False  # True: a call registered or finished twice is meant

    @property
    def phone_inner(self) -> str:
        """user.current's UF_PHONE_INNER of the operator."""
        return self.model.user(self.user_id)["UF_PHONE_INNER"]

    @phone_inner.setter
    def phone_inner(self, value) -> None:
        self.model.user(self.user_id)["UF_PHONE_INNER"] = str(value)

    @property
    def user_options(self) -> dict:
        """The operator's options of the application (what user.option.get reads)."""
        return self.model.user_options.setdefault(self.user_id, {})

    @property
    def token_expired(self) -> bool:
        return self.session.token.expires <= self.model.clock()

    @token_expired.setter
    def token_expired(self, expired: bool) -> None:
        if expired:
            self.model.expire(self.session.sid)
        else:
            self._refresh()

    def _refresh(self) -> None:
        self.model.refresh_session(self.session.sid)

    # -- wiring bx24 to it ----------------------------------------------------------------------

    def card(self, **options):
        """A :class:`bx24.CallCard` over this portal (``options`` are its)."""
        import bx24

        return bx24.CallCard(self.bridge, **options)

    def rest(self, **options):
        """A :class:`bx24.Rest` over this portal (``options`` are its; retries move the clock
        instead of waiting)."""
        import bx24

        options.setdefault("sleep", self._sleep)
        return bx24.Rest(self.bridge, **options)

    def telephony(self, **options):
        """A :class:`bx24.Telephony` over :meth:`rest` (``options`` are its)."""
        import bx24

        return bx24.Telephony(self.rest(**options), new_external_id=self._new_external_id)

    def calls(self, softphone, card=None, **options):
        """A :class:`bx24.Calls` over this portal, on its clock; the card attached (the page is
        alone: it leads, so a :class:`bx24.SipSoftphone` starts)."""
        import bx24

        calls = bx24.Calls(
            card or self.card(), self.telephony(), softphone, clock=self.clock, **options
        )
        return calls.start()

    def app_page(
        self,
        kind="install",
        settings=None,
        url="https://app.example.com/install",
        server=None,
        microphone=None,
    ):
        """The application's ``kind`` page (``install``, ``main``) of this portal's user, as
        :mod:`bx24.install` and :mod:`bx24.mainpage` get it: a :class:`bx24.AppPage` with
        ``settings`` (an ``[application]`` table of bx24.toml), at ``url``, over a
        :class:`RecordingView` (``page.view``) and a :class:`FakeAppBridge` (``page.bridge``).
        ``server(path, payload)`` answers the application's server as ``(status, json)``
        (None: no server); ``microphone`` is what the microphone check gets."""
        import bx24
        from bx24_frame.settings import application_settings

        bridge = FakeAppBridge(
            self, kind, application_settings(settings or {}), url, server, microphone
        )
        return bx24.AppPage(bridge, self.rest(), RecordingView())

    def clock(self) -> float:
        """The portal's time (seconds; :meth:`advance` moves it)."""
        return self.now

    async def load_app(self, main_py) -> dict:
        """Run an app's ``main.py`` (top-level ``await`` allowed, its folder importable) with
        the page functions of ``bx24.page`` (``card``, ``rest``, ``telephony``, ``calls``) bound to
        this portal while it runs, as they are bound to the browser in the page. Returns the
        module's globals: the test reaches the app's objects (``app["softphone"]``...).
        ``self.page_calls`` is the :class:`bx24.Calls` it made, if any."""
        import ast
        import inspect
        import sys
        from pathlib import Path

        import bx24

        path = Path(main_py)
        if self.interpreter == "micropython":
            return self._load_in_micropython(path)
        code = compile(path.read_text(), str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        page = self._page_functions()
        saved = {name: getattr(bx24.page, name) for name in page}
        namespace = {"__name__": "__main__", "__file__": str(path)}
        sys.path.insert(0, str(path.parent))
        try:
            for name, function in page.items():
                setattr(bx24.page, name, function)
            result = eval(code, namespace)  # noqa: S307 - the app under test, by its path
            if inspect.iscoroutine(result):
                await result
        finally:
            for name, function in saved.items():
                setattr(bx24.page, name, function)
            sys.path.remove(str(path.parent))
        return namespace

    @property
    def page_calls(self) -> Any:
        """The :class:`bx24.Calls` the app that :meth:`load_app` runs made with
        ``bx24.page.calls()``, if any (under MicroPython: a reference to it there)."""
        return self._page.get("calls")

    def _page_pieces(self) -> dict:
        """What ``bx24.page``'s functions are made over (:mod:`bx24_testing.fakepage`): this
        portal's bridge, clock, REST retries' sleep, SIP phone and external call ids."""
        return {
            "bridge": self.bridge,
            "clock": self.clock,
            "sleep": self._sleep,
            "new_phone": self.softphone.create,
            "new_external_id": self._new_external_id,
        }

    def _load_in_micropython(self, path) -> Any:
        """:meth:`load_app` under the frame's MicroPython: the app's globals, a
        :class:`~bx24_testing.micropython.MicroPythonObject` (``app["calls"]`` reaches the
        object there)."""
        from .micropython import MicroPythonApp

        if self.micropython is None:
            self.micropython = MicroPythonApp(path.parent)
        loaded = self.micropython.load(path, self._page_pieces())
        self._page["calls"] = loaded["calls"]
        return loaded["app"]

    def _page_functions(self) -> dict:
        """``bx24.page.card()`` and friends as the page has them: one card, one Calls per page
        (``page_calls``), over this portal (:mod:`bx24_testing.fakepage`, shared with the
        MicroPython run)."""
        import bx24

        from .fakepage import page_functions

        return page_functions(bx24, self._page, **self._page_pieces())

    async def _sleep(self, seconds):
        """REST's retries do not wait: the clock moves instead."""
        self._sleeps.append(seconds)
        self.now += seconds

    def _new_external_id(self) -> str:
        self._external_ids += 1
        return f"fake-{self._external_ids}"

    def advance(self, seconds: float) -> None:
        """Move the clock (durations) by ``seconds``."""
        self.now += seconds

    async def settle(self, rounds: int = 20) -> None:
        """Let every task started so far run to its end (REST answers are immediate here).
        AssertionError when a call was registered or finished twice (both records in the
        message; ``allow_duplicate_calls = True`` when a test means it)."""
        for _ in range(rounds):
            while self._later:
                self._later.pop(0)()
            if self.micropython is not None:  # the app's tasks, there
                self.micropython.settle()
            await asyncio.sleep(0)
        problems = [] if self.allow_duplicate_calls else self.model.duplicate_calls()
        if problems:
            raise AssertionError("; ".join(problems))

    # -- driving the card ---------------------------------------------------------------------

    @property
    def card_open(self) -> bool:
        """A card of this application is shown and can be managed."""
        return self.card_shown is not None and self.card_shown.manageable

    @property
    def call(self) -> dict | None:
        """The initialized payload of the card, if one was raised."""
        return self.card_shown.call if self.card_shown is not None else None

    def _show(self, call: dict, ui_state: str | None = None, transferred: bool = False) -> None:
        self.card_shown = Card(
            call, ui_state=ui_state, transferred=transferred, clock=self.clock, mode=self.mode
        )

    def raise_call(self, ui_state: str | None = None, **overrides) -> dict:
        """Open a card and fire ``initialized`` (a call Bitrix24 started: click-to-call...):
        realistic defaults, ``overrides`` by payload key (``None`` removes a key)."""
        self._serial += 1
        call: dict[str, Any] = {
            "CALL_ID": f"externalCall.fake.{self._serial}",
            "PHONE_NUMBER": "+15550100001",
            "LINE_NUMBER": "line1",
            "LINE_NAME": "",
            "CRM_ENTITY_TYPE": "",
            "CRM_ENTITY_ID": 0,
            "CRM_BINDINGS": [],
            "CALL_DIRECTION": "incoming",
            "CALL_STATE": "idle",
            "CALL_LIST_MODE": False,
        }
        for key, value in overrides.items():
            if value is None:
                call.pop(key, None)
            else:
                call[key] = value
        self._show(call, ui_state)
        # Bitrix24 knows the calls it shows a card for (click-to-call registered it)
        self.model.known_call(
            call["CALL_ID"],
            call.get("PHONE_NUMBER", ""),
            call.get("CALL_DIRECTION", "incoming"),
            self.user_id,
        )
        self.bridge.fire("initialized", call)
        return call

    def fire(self, event: str, payload=OMIT) -> None:
        """Any card event (Bitrix24's name, with or without ``BackgroundCallCard::``) with any
        payload (``closeButtonClick`` closes the card); AssertionError naming the events for an
        unknown one."""
        from bx24.events import EVENTS

        event = (
            event[len(PREFIX) :] if isinstance(event, str) and event.startswith(PREFIX) else event
        )
        if event not in EVENTS:
            raise AssertionError(f"unknown event {event!r}; events: {', '.join(EVENTS)}")
        if event == "closeButtonClick" and self.card_shown is not None:
            self.card_shown.close()
        self.bridge.fire(event, payload)

    def click(self, button: str, arg=None) -> None:
        """A button the card shows now (``"answer"``, ``"mute"``, ``"transfer"`` with the
        target as ``arg``...; the names of :data:`bx24_testing.cardmodel.BUTTON_EVENTS`): the
        event it fires. AssertionError, saying what is shown, when the card does not show it."""
        if self.card_shown is None:
            raise AssertionError(f'no call card: cannot click "{button}"; raise a call first')
        try:
            event, payload = self.card_shown.click(button, arg)
        except Refused as refused:
            raise AssertionError(str(refused)) from None
        if event is not None:
            self.bridge.fire(event, OMIT if payload is None else payload)

    @property
    def commands(self) -> list:
        """Every card command sent: ``(command, params)``."""
        return [(command, params) for command, params, _ in self.bridge.sent]

    # -- REST ---------------------------------------------------------------------------------

    def respond(self, method: str, answer) -> None:
        """Program ``method``'s answers at the portal (one, or a list given out in turn):
        ``{"result": ...}``, ``{"error": ..., "error_description": ..., "status": 503}``,
        ``{"status": 502, "body": "<html>"}``, ``{"network": True}``, ``{"items": [...]}``
        (paged by ``start``): :meth:`bx24_testing.bitrix24.Portal.respond`."""
        self.model.respond(method, answer)

    def rest_calls(self, method: str | None = None) -> list:
        """The REST calls the portal answered (``{"method", "params", "batch", "status",
        "answer"}``, params as Bitrix24 decodes them: every value a string), of ``method`` if
        given (any letter case)."""
        return self.model.rest_calls(method)

    def _rest(self, method: str, body: str) -> dict:
        answer = self.model.rest(
            method, "auth=" + self.session.token.access + ("&" + body if body else "")
        )
        self._after_rest(method, decode_form(body), answer)
        return answer

    def _after_rest(self, method: str, params: dict, answer: dict) -> None:
        """What Bitrix24 does in the page after an answer (the stub's afterRest): a successful
        register with SHOW opens the card with its CALL_ID; hide closes it."""
        name = method.lower()
        if name == "batch":
            inner = (answer.get("json") or {}).get("result") or {}
            results = inner.get("result") or {}
            for key, command in (params.get("cmd") or {}).items():
                call, _, query = str(command).partition("?")
                part = (
                    results[int(key)]
                    if isinstance(results, list) and str(key).isdigit() and int(key) < len(results)
                    else (results.get(key) if isinstance(results, dict) else None)
                )
                if part is not None:
                    self._after_rest(
                        call, decode_form(query), {"http": 200, "json": {"result": part}}
                    )
            return
        body = answer.get("json") if isinstance(answer.get("json"), dict) else None
        if body is None or "error" in body or not 200 <= answer.get("http", 0) < 300:
            return
        if name == "telephony.externalcall.register" and params.get("SHOW", "1") not in (
            "0",
            "false",
            "N",
            "n",
        ):
            result = body.get("result") or {}
            direction = {"1": "outgoing", "4": "callback"}.get(str(params.get("TYPE")), "incoming")
            entity = result.get("CRM_ENTITY_TYPE") or ""
            shown = {
                "CALL_ID": result.get("CALL_ID"),
                "PHONE_NUMBER": params.get("PHONE_NUMBER"),
                "LINE_NUMBER": params.get("LINE_NUMBER", ""),
                "LINE_NAME": "",
                "CRM_ENTITY_TYPE": entity,
                "CRM_ENTITY_ID": result.get("CRM_ENTITY_ID") or 0,
                "CRM_BINDINGS": [{"ENTITY_TYPE": entity, "ENTITY_ID": result.get("CRM_ENTITY_ID")}]
                if entity
                else [],
                "CALL_DIRECTION": direction,
                "CALL_STATE": "idle",
                "CALL_LIST_MODE": False,
            }
            self._show(shown)
            if self.card_before_answer:
                self.bridge.fire("initialized", shown)
            else:
                self._later.append(lambda: self.bridge.fire("initialized", shown))
        if (
            name == "telephony.externalcall.hide"
            and self.card_shown
            and self.card_shown.call.get("CALL_ID") == params.get("CALL_ID")
        ):
            self.card_shown.close()

    # -- card commands ------------------------------------------------------------------------

    def _command(self, command: str, params: dict) -> str:
        outcome: tuple[str, object]
        if self.card_shown is None:
            outcome = (
                ("answer", list(UI_STATES) if command in WITHOUT_CARD else CARD_UNDEFINED)
                if command in COMMANDS
                else ("silent", "unknown command")
            )
        else:
            self.card_shown.mode = self.mode
            outcome = self.card_shown.command(command, params)
        if outcome[0] == "silent":  # no callback at all (the browser's timer success)
            return json.dumps({"status": "no_answer"})
        return _envelope(outcome[1])


def registration_refused(code) -> dict:
    """How JsSIP reports a REGISTER answered ``code``: its cause, and the response's code (none
    for 408: JsSIP's own timeout, no response). The fake phone and the browser's SIP stand-in
    (``bx24_card.softphone.refuse_registration``) both report it so."""
    causes = {401: "Authentication Error", 403: "Rejected", 408: "Request Timeout"}
    code = int(code)
    return {"cause": causes.get(code, "SIP Failure Code"), "code": None if code == 408 else code}


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
        """What ``SipSoftphone`` calls to make its phone (``new_phone=phone.create``): it
        registers at once."""
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
        """The callee answers the outgoing call."""
        call = self._newest()
        if call:
            self._emit(type="answered", id=call["id"])

    def hang_up(self):
        """The other side hangs up (or gives up while it rings)."""
        call = self._newest()
        if call:
            call["ended"] = True
            self._emit(type="ended", id=call["id"], originator="remote", cause="Terminated")

    def fail(self, status, reason=None):
        """The call fails on the other side with SIP ``status`` (``486`` busy...)."""
        call = self._newest()
        if call:
            call["ended"] = True
            self._emit(
                type="failed", id=call["id"], originator="remote", cause=reason, code=str(status)
            )

    def microphone_fails(self, problem="lost"):
        """The operator's microphone fails the newest call: ``"denied"`` or ``"missing"`` (its
        answer cannot start: the session fails here, the caller hears 480), or ``"lost"``
        (unplugged while they talk)."""
        call = self._newest()
        if call is None:
            return
        self._emit(type="microphone", id=call["id"], problem=problem, message=problem)
        if problem != "lost":
            call["ended"] = True
            self._emit(
                type="failed", id=call["id"], originator="local", cause="User Denied Media Access"
            )

    # the link to the SIP server (what JsSIP reports; bx24.sip words it for the card)
    def refuse_registration(self, code=403):
        """The SIP server refuses the registration or its refresh with ``code`` (401: the
        password, 403, 408: no answer, 5xx...); calls go on."""
        self.registered = False
        self._emit(type="registration", state="failed", **registration_refused(code))

    def drop_link(self, network=False):
        """The WebSocket to the SIP server drops (``network``: this computer's network went
        away); calls go on."""
        self.registered = False
        self._emit(
            type="registration",
            state="disconnected",
            cause="network" if network else None,
            code=None,
        )

    def register_again(self):
        """The phone is registered again (the server took it, the link is back)."""
        self.registered = True
        self._emit(type="registration", state="registered", cause=None, code=200)

    # what the app asks (the phone API of bx24.sip)
    def call(self, target):
        """(the app) Dial ``target``: said ``dial <number>``."""
        self._serial += 1
        number = str(target).removeprefix("sip:").split("@")[0]
        self._calls.append({"id": f"out-{self._serial}", "number": number, "ended": False})
        self._say("dial " + number)
        return f"out-{self._serial}"

    def answer(self, handle):
        """(the app) Answer: said ``answer the call from <number>``."""
        self._say("answer the call from " + self._find(handle)["number"])

    def reject(self, handle, code):
        """(the app) Reject: said ``reject the call (<code>)``."""
        self._find(handle)["ended"] = True
        self._say(f"reject the call ({code})")

    def hangup(self, handle):
        """(the app) Hang up: said ``hang up``."""
        call = self._find(handle)
        if not call["ended"]:
            call["ended"] = True
            self._say("hang up")

    def mute(self, handle, on):
        """(the app) Said ``microphone muted`` / ``microphone on``."""
        self._say("microphone " + ("muted" if on else "on"))

    def hold(self, handle, on):
        """(the app) Said ``call held`` / ``call resumed``."""
        self._say("call " + ("held" if on else "resumed"))

    def dtmf(self, handle, key):
        """(the app) Said ``DTMF <key>``."""
        self._say("DTMF " + key)

    def transfer(self, handle, target):
        """(the app) Said ``transfer to <number>``."""
        self._find(handle)["ended"] = True
        self._say("transfer to " + str(target).removeprefix("sip:").split("@")[0])

    def stop(self):
        """(the app) Unregister: its leadership ended or the page closes."""
        self.registered = False
        for call in self._calls:
            call["ended"] = True


# -- the application's own pages (bx24.apppage) ---------------------------------------------------


class RecordingView:
    """The install and main pages' view (:mod:`bx24.view`'s methods), recorded: ``lines()``
    is what the page says (``(section, text, kind)``), ``click(label)`` presses a button,
    ``save_password(label, value)`` types into a password field and saves."""

    def __init__(self):
        self.sections: list[dict] = []

    def section(self, title):
        """A new section of the page (what the page's ``view.section`` makes)."""
        section = _RecordedSection(title)
        self.sections.append(section.record)
        return section

    def clear(self):
        """The page emptied."""
        self.sections.clear()

    def lines(self) -> list[tuple]:
        """What the page says: ``(section title, text, kind)``, in order."""
        return [(s["title"], line.text, line.kind) for s in self.sections for line in s["lines"]]

    def text(self) -> str:
        """What the page says, one line each."""
        return "\n".join(text for _, text, _ in self.lines())

    def _control(self, kind, label):
        for section in self.sections:
            if label in section[kind]:
                return section[kind][label]
        raise KeyError(f"no {kind[:-1]} {label!r} on the page")

    async def click(self, label):
        """Press the button ``label`` (its coroutine runs to its end)."""
        await self._control("buttons", label)()

    async def save_password(self, label, value):
        """Type ``value`` into the password field ``label`` and save: what saving returned."""
        return await self._control("passwords", label)(value)


class _RecordedLine:
    def __init__(self, text, kind):
        self.set(text, kind)

    def set(self, text, kind="info"):
        self.text = text
        self.kind = kind


class _RecordedSection:
    def __init__(self, title):
        self.record = {"title": title, "lines": [], "buttons": {}, "passwords": {}}

    def line(self, text, kind="info"):
        line = _RecordedLine(text, kind)
        self.record["lines"].append(line)
        return line

    def button(self, label, on_click):
        self.record["buttons"][label] = on_click

    def password(self, label, on_save):
        self.record["passwords"][label] = on_save


class FakeAppBridge:
    """bridge.js's application-page functions in CPython, for :meth:`FakePortal.app_page`."""

    def __init__(
        self,
        portal: "FakePortal",
        kind: str,
        settings: dict,
        url: str,
        server=None,
        microphone=None,
    ):
        self.portal = portal
        self.kind = kind
        self.settings = settings
        self.url = url
        self.server_answer = server
        self.microphone_answer = microphone or {"ok": True, "label": "Fake microphone"}
        self.state: str | None = None  # what the page came to (pageReady)
        self.finished = False  # installFinish was called
        self.sent_to_server: list = []  # (path, payload without its auth)
        # the portal opened this page (an install step while not installed)
        self.session = portal.model.open_session(portal.user_id, "DEFAULT")

    def config(self):
        from bx24_frame import layout
        from bx24_server import endpoints

        assert self.kind in layout.APP_PAGES
        return json.dumps(
            {
                "page": self.kind,
                "app": self.settings,
                "server": {
                    "install": endpoints.INSTALL,
                    "portal": endpoints.PORTAL,
                    "error_handler": endpoints.ERROR_HANDLER,
                    "carry": ["interpreter"],
                },
            }
        )

    async def appInfo(self, wait_ms):
        model, user = self.portal.model, self.portal.user_id
        return _envelope(
            {
                "admin": bool(model.user(user).get("ADMIN")),
                "lang": model.lang,
                "domain": model.domain,
                "member": model.member_id,
                "placement": "DEFAULT",
                "page": self.url.split("?")[0],
                "query": self.url.partition("?")[2],
            }
        )

    async def installFinish(self, wait_ms):
        self.finished = True
        self.portal.model.install_finish(self.session.sid)
        return _envelope(True)

    async def server(self, path, payload_json, wait_ms):
        payload = json.loads(payload_json)
        self.sent_to_server.append((path, payload))
        if self.server_answer is None:
            return _envelope({"http": 404, "text": "not found"})
        status, answer = self.server_answer(path, payload)
        return _envelope({"http": status, "json": answer})

    async def microphone(self, wait_ms):
        return _envelope(self.microphone_answer)

    def pageReady(self, state):
        if state:
            self.state = state

    # REST, as the portal's page has it
    async def rest(self, method, body, wait_ms):
        return await self.portal.bridge.rest(method, body, wait_ms)

    async def refresh_auth(self, wait_ms):
        return await self.portal.bridge.refresh_auth(wait_ms)
