"""The call card: its commands, its events and what it last knew.

Pure logic over an injected *bridge* (the browser's ``window.bx24Bridge`` in
production, a fake in unit tests), so every behaviour here runs in CPython.
The bridge speaks JSON strings both ways because that is the one conversion
Pyodide and MicroPython do identically (``undefined`` simply disappears).

Bridge protocol (what :mod:`bx24.browser` and test fakes implement):

- ``call(command, params_json, wait_ms)``, ``info(wait_ms)``,
  ``get_interface(wait_ms)`` return awaitables of a JSON envelope:
  ``{"status": "answer", "data": ...}`` (the callback's argument),
  ``{"status": "no_answer"}`` (nothing within ``wait_ms``) or
  ``{"status": "unavailable", "message": ...}`` (no BX24 on the page).
- ``on_page_hide(handler)``: ``handler()`` when the page goes away.
- ``rest(method, body, wait_ms)``, ``refresh_auth(wait_ms)``, ``beacon(method,
  body)``: Bitrix24's REST over HTTP (see :mod:`bx24.rest`).
- ``attach(receive)`` makes the bridge call ``receive(message_json)`` for
  every queued, then every live, message: ``{"type": "event", "name": ...,
  "payload": ...}`` or ``{"type": "late", "command": ..., "data": ...}`` (an
  answer that came after its ``wait_ms``).
- Optional (the page's frames, ``frames.js``): ``on_leader(handler)``,
  ``leave_note(text)``, ``take_notes()``; a bridge without them is a frame alone,
  which leads.
"""

import json

from . import commands, events
from .envelope import NO_ANSWER, open_envelope
from .errors import (
    Bx24Error, CardUndefinedError, CommandError, CommandTimeoutError,
    MalformedPayloadError, PlacementError,
)
from .log import format_exception, shorten, stderr
from .placement import parse_info, parse_interface, require_background_worker
from .tasks import call_handler


def _seconds(name, value):
    if type(value) not in (int, float) or not value > 0:
        raise ValueError("{} must be a positive number of seconds, not {!r}".format(name, value))
    return value


class CallCard:
    """One page's call card.

    ``timeout``: seconds a command may go unanswered before
    :class:`~bx24.errors.CommandTimeoutError`. ``timer_grace``: seconds the timer
    commands wait for an error before counting silence as success (in the
    browser Bitrix24 sends them no callback on success). ``log``: a callable
    taking one message string (default: stderr, i.e. the browser console).
    """

    def __init__(self, bridge, timeout=5.0, timer_grace=0.5, log=None):
        self._bridge = bridge
        self.timeout = timeout
        self.timer_grace = timer_grace
        self._log = log or stderr
        self._handlers = {}
        for name in events.EVENTS:
            self._handlers[name] = []
        self._late_error_handlers = []
        self._attached = False
        self._placement = None
        # Last known state.
        self._active = False
        self._call = None
        self._entity = None
        self._ui_state = None
        self._muted = False
        self._held = False
        self._timer_running = False
        self._last_late_error = None

    # -- configuration -------------------------------------------------------

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, value):
        self._timeout = _seconds("timeout", value)

    @property
    def timer_grace(self):
        return self._timer_grace

    @timer_grace.setter
    def timer_grace(self, value):
        self._timer_grace = _seconds("timer_grace", value)

    # -- last known state (read-only) -----------------------------------------

    @property
    def active(self):
        """True from ``initialized`` until ``close()``, ``closeButtonClick`` or a
        ``Call card is undefined`` answer."""
        return self._active

    @property
    def call(self):
        """The :class:`~bx24.events.CallInfo` of the last ``initialized``, or None."""
        return self._call

    @property
    def entity(self):
        """The :class:`~bx24.events.Entity` of the last ``entityChanged``, or None."""
        return self._entity

    @property
    def ui_state(self):
        """The UI state last set with :meth:`set_ui_state` for this call, or None."""
        return self._ui_state

    @property
    def muted(self):
        """As last set with :meth:`set_mute` (clicks alone do not change it)."""
        return self._muted

    @property
    def held(self):
        """As last set with :meth:`set_hold` (clicks alone do not change it)."""
        return self._held

    @property
    def timer_running(self):
        return self._timer_running

    @property
    def last_late_error(self):
        """The last :class:`~bx24.errors.CommandError` that arrived after its command returned."""
        return self._last_late_error

    @property
    def attached(self):
        return self._attached

    # -- events ---------------------------------------------------------------

    def on(self, event):
        """Decorator: run the function on ``event`` (Bitrix24's name, e.g.
        ``"muteButtonClick"``, with or without ``BackgroundCallCard::``).
        Sync or async; handlers run in registration order; a function registered
        twice for one event runs once."""
        name = events.event_name(event)

        def register(handler):
            if not callable(handler):
                raise TypeError("{!r} is not callable".format(handler))
            if handler not in self._handlers[name]:
                self._handlers[name].append(handler)
            return handler
        return register

    def off(self, event, handler):
        """Stop running ``handler`` on ``event``."""
        name = events.event_name(event)
        if handler not in self._handlers[name]:
            raise ValueError("{!r} is not registered for {}".format(handler, name))
        self._handlers[name].remove(handler)

    def handlers(self, event):
        """The handlers of ``event``, in the order they run."""
        return list(self._handlers[events.event_name(event)])

    def on_late_error(self, handler):
        """Decorator: run ``handler(error)`` when an error answer arrives after its
        command already returned (a timer command's ``Call card is undefined``
        after ``timer_grace``, or any answer after ``timeout``)."""
        if not callable(handler):
            raise TypeError("{!r} is not callable".format(handler))
        self._late_error_handlers.append(handler)
        return handler

    def on_page_hide(self, handler):
        """Run ``handler()`` when the page goes away (navigation, tab or slider closed): the
        last moment to send something (:meth:`bx24.rest.Rest.beacon`)."""
        self._bridge.on_page_hide(handler)

    def on_leader(self, handler):
        """Run ``handler(leading)`` when this frame becomes, or stops being, the operator's
        leading frame (only the leader gets card events and runs a softphone); at once with
        ``True`` over a bridge that knows no other frames."""
        on_leader = getattr(self._bridge, "on_leader", None)
        if on_leader is None:
            handler(True)
        else:
            on_leader(handler)

    def leave_note(self, text):
        """A note for the operator's next card, shown by whichever frame leads next (this page
        is closing: a call it held was cut off). Nothing without a bridge that carries notes."""
        leave = getattr(self._bridge, "leave_note", None)
        if leave is not None:
            leave(str(text))

    def take_notes(self):
        """The notes left by frames that went away (:meth:`leave_note`), once: a list of str."""
        take = getattr(self._bridge, "take_notes", None)
        if take is None:
            return []
        try:
            notes = json.loads(take())
        except (TypeError, ValueError):
            return []
        return [str(note) for note in notes] if isinstance(notes, list) else []

    def attach(self):
        """Start receiving events: everything Bitrix24 fired since the page loaded,
        in order, once, then live events. Register handlers first. In the browser
        this also marks the page ready (``<html data-bx24="ready">``)."""
        if self._attached:
            raise Bx24Error("this call card is already attached")
        self._bridge.attach(self._receive)
        self._attached = True
        return self

    def _receive(self, message_json):
        """The bridge's entry point: never raises back into JavaScript."""
        try:
            message = json.loads(message_json)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "event" and "oversized" in message:
                self._log("event {} arrived with a payload of {} characters, over the limit "
                          "bx24 takes: its handlers were skipped".format(
                              shorten(message.get("name"), 60), message.get("oversized")))
            elif kind == "event":
                self._dispatch(message.get("name"), message.get("payload"))
            elif kind == "late":
                self._late_answer(message.get("command"), message.get("data"))
            else:
                self._log("ignored a bridge message of unknown type: {}".format(
                    shorten(message_json)))
        except Exception as exc:
            self._log("failed to handle bridge message {}:\n{}".format(
                shorten(message_json), format_exception(exc)))

    def _dispatch(self, raw_name, payload):
        try:
            name = events.event_name(raw_name)
        except ValueError:
            self._log("ignored unknown event {}".format(shorten(raw_name, 60)))
            return
        try:
            args = events.parse(name, payload)
        except MalformedPayloadError as exc:
            self._log("{}; its handlers were skipped".format(exc))
            return
        self._track_event(name, args)
        for handler in list(self._handlers[name]):
            self._run_handler(name, handler, args)

    def _run_handler(self, name, handler, args):
        """Call ``handler``; a coroutine it returns (async def, on either
        interpreter) is scheduled as a task. Failures are logged, never raised."""
        call_handler(handler, args, self._log, "handler {} of {}".format(
            getattr(handler, "__name__", repr(handler)), name))

    def _track_event(self, name, args):
        if name == events.INITIALIZED:
            self._call = args[0]
            self._active = True
            self._ui_state = None
            self._muted = False
            self._held = False
            self._timer_running = False
        elif name == events.ENTITY_CHANGED:
            self._entity = args[0]
        elif name == events.CLOSE:
            self._card_gone()

    def _card_gone(self):
        self._active = False
        self._timer_running = False

    def _late_answer(self, command, data):
        try:
            commands.check_answer(command, data)
        except CommandError as error:
            self._log("late answer to {}: {}".format(command, error))
            self._last_late_error = error
            self._track_error(error)
            for handler in list(self._late_error_handlers):
                self._run_handler("late error", handler, (error,))
            return
        if command not in commands.TIMER_COMMANDS:
            self._log("{} answered after its {} s timeout: {}".format(
                command, self.timeout, shorten(data)))

    def _track_error(self, error):
        if isinstance(error, CardUndefinedError):
            self._card_gone()
        elif error.command == commands.START_TIMER:
            self._timer_running = False

    # -- placement --------------------------------------------------------------

    async def placement_info(self):
        """Where this frame runs (:class:`~bx24.placement.PlacementInfo`), once BX24 is
        initialised."""
        if self._placement is None:
            data = await self._request("BX24.placement.info", self._bridge.info, self.timeout)
            self._placement = parse_info(data)
        return self._placement

    async def get_interface(self):
        """The commands and events the placement offers (:class:`~bx24.placement.Interface`)."""
        return parse_interface(
            await self._request("BX24.placement.getInterface", self._bridge.get_interface,
                                self.timeout))

    async def _request(self, what, send, wait):
        """Ask BX24 through the bridge; the callback's argument."""
        data = open_envelope(what, await send(int(wait * 1000)))
        if data is NO_ANSWER:
            raise PlacementError(
                "{} did not answer within {} s: BX24.init never completed (is this page "
                "loaded by Bitrix24, or by the stub?)".format(what, wait))
        return data

    # -- commands -----------------------------------------------------------------

    async def _send(self, request):
        command, params = request
        require_background_worker(await self.placement_info())
        timer = command in commands.TIMER_COMMANDS
        wait = self.timer_grace if timer else self.timeout
        data = open_envelope(
            command, await self._bridge.call(command, json.dumps(params), int(wait * 1000)))
        if data is NO_ANSWER:
            if timer:
                return None  # the browser's success: no callback at all
            raise CommandTimeoutError(command, self.timeout)
        try:
            return commands.check_answer(command, data)
        except CommandError as error:
            self._track_error(error)
            raise

    async def set_mute(self, muted):
        """Show the microphone as muted (True) or not; does not fire ``muteButtonClick``."""
        await self._send(commands.set_mute(muted))
        self._muted = muted

    async def set_hold(self, held):
        """Show the call as held (True) or not; does not fire ``holdButtonClick``."""
        await self._send(commands.set_hold(held))
        self._held = held

    async def set_ui_state(self, state, auto_start_timer=True):
        """Switch the card to one of :data:`~bx24.commands.UI_STATES`. ``connected``
        starts the timer unless ``auto_start_timer=False`` (then it is reset and hidden)."""
        await self._send(commands.set_ui_state(state, auto_start_timer))
        self._ui_state = state
        self._timer_running = state == "connected" and auto_start_timer

    async def ui_states(self):
        """The UI state names Bitrix24 knows (works even without a card)."""
        return await self._send(commands.get_list_ui_states())

    async def set_title(self, title):
        await self._send(commands.set_card_title(title))

    async def set_status_text(self, text):
        await self._send(commands.set_status_text(text))

    async def start_timer(self):
        """Start (or resume) the call timer."""
        await self._send(commands.start_timer())
        self._timer_running = True

    async def stop_timer(self):
        await self._send(commands.stop_timer())
        self._timer_running = False

    async def close(self):
        """Close the card; afterwards it can no longer be managed."""
        await self._send(commands.close())
        self._card_gone()
