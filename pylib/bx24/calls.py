"""Call sessions: a softphone's calls, mirrored onto Bitrix24's card and reported to its REST.

    softphone = bx24.page.sip_softphone(server, uri)  # or any bx24.Softphone
    calls = bx24.page.calls(softphone, line_number="line1")

    @calls.on("shown")                           # the card shows the call: fill it in
    async def show(call):
        await calls.card.set_title("Call " + call.phone_number)

    calls.start()                                # = card.attach()

What a :class:`Calls` does for each call (:class:`Call`):

- a call that rings in the softphone (``calls.incoming``) or that the app dials
  (``calls.dial``) is registered (``telephony.externalcall.register``, a fresh
  ``EXTERNAL_CALL_ID``, ``SHOW=1``): Bitrix24 opens the card and fires ``initialized`` with the
  call's ``CALL_ID``, which is paired with the call (it may come before or after the REST answer);
- the operator's clicks on the card drive the softphone, and what the softphone reports
  drives the card: answer, skip, hang up, mute, hold, dial pad, transfer (two steps on the card,
  a blind transfer in the softphone), make call (an outgoing card, click-to-call included);
- state: ``ringing`` → ``connected`` ⇄ ``held`` / ``transferring`` → ``ended``, with when each
  happened; ``duration`` runs from the answer to the end;
- the end sends ``telephony.externalcall.finish`` exactly once, with the ``DURATION`` and the
  :class:`~bx24.telephony.Status` it ended with (answered 200, missed 304, declined 603,
  cancelled 603-S, busy 486...), closes the card, and when the page closes mid-call, the finish
  is still sent (best effort);
- hooks the app fills in: ``shown`` (the card shows the call: title, status text),
  ``entity`` (the CRM client changed), ``connected``, ``finishing`` (just before the finish is
  sent: add to ``call.finish_fields``), ``ended``. Hooks may be ``async``; their failures are
  logged, the call goes on.

What goes to Bitrix24 besides: ``register`` and ``finish`` (``Calls``' options, for every call)
and ``call.register_fields`` / ``call.finish_fields`` (one call's) are more of
``telephony.externalcall.register``'s and ``finish``'s parameters, by Bitrix24's names
(``{"CRM_CREATE": True, "CRM_SOURCE": "CALL"}``, ``{"COST": 0.12, "COST_CURRENCY": "EUR"}``);
the card's rating (``qualityMeterClick``) is the finish's ``VOTE``; the card's skip button ends
a ringing call with ``skip_status`` (603 declined; a queue wants 304 missed); the card's
comments are kept in ``call.comments`` and written to the call's CRM activity after the finish
(``crm.activity.update``, its ``DESCRIPTION``: where the CRM shows the call; the ``crm`` scope,
``write_comments=False`` to leave them there).

The CRM client may be known before the card is: an ``entityChanged`` that comes before
``initialized`` belongs to the card about to be shown and is in ``call.entity`` when ``shown``
runs; ``entity`` runs only for later changes. So the card is written in one place, from all
that is known, and nothing written early is overwritten by the call's own title.
"""

from .errors import Bx24Error
from .log import format_exception, stderr
from .tasks import is_coroutine, spawn
from .telephony import INCOMING, OUTGOING, Status

RINGING = "ringing"
CONNECTED = "connected"
HELD = "held"
TRANSFERRING = "transferring"
ENDED = "ended"
HOOKS = ("shown", "entity", "connected", "finishing", "ended")
MAX_PENDING = 20


def _clock():
    import time

    if hasattr(time, "monotonic"):
        return time.monotonic()
    if hasattr(time, "ticks_ms"):  # MicroPython
        return time.ticks_ms() / 1000
    return time.time()


async def _maybe_await(result):
    if is_coroutine(result):
        return await result
    return result


def _finish_fields(call):
    fields = {"VOTE": call.vote} if call.vote is not None else {}
    fields.update(call.finish_fields)
    return fields


class Call:
    """One call of the softphone, from ring to finish (see the module doc)."""

    def __init__(self, calls, direction, phone_number, line_number=None, handle=None,
                 call_id=None, register=None):
        self.calls = calls
        self.direction = direction
        self.phone_number = phone_number
        self.line_number = line_number
        self.handle = handle
        self.call_id = call_id
        self.external_call_id = None
        self.registered = None
        self.info = None
        self.entity = None
        self.state = RINGING
        self.muted = False
        self.held = False
        self.transfer_target = None
        self.started_at = calls.clock()
        self.connected_at = None
        self.ended_at = None
        self.status = None
        self.failed_reason = None
        self.finish_record = None
        self.dialing = False     # outgoing: the softphone is calling the other side
        self.notes = []          # what frames that went away left for this card (cut-off calls)
        self.comments = []       # what the operator wrote on the card (addCommentButtonClick)
        self.vote = None         # the operator's rating of the call (qualityMeterClick), 1-5
        # more of register's and finish's parameters, by Bitrix24's names (the module doc)
        self.register_fields = dict(calls.register_fields)
        self.register_fields.update(register or {})
        self.finish_fields = dict(calls.finish_fields)
        self._finish_sent = False

    def __repr__(self):
        return "Call({}, {!r}, {}, call_id={!r})".format(
            self.direction, self.phone_number, self.state, self.call_id)

    @property
    def active(self):
        return self.state != ENDED

    @property
    def duration(self):
        """Whole seconds from the answer to the end (or to now); 0 if never answered."""
        if self.connected_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.calls.clock()
        return max(0, int(end - self.connected_at + 0.5))

    # -- what the operator (or the app) does -------------------------------------------------

    async def answer(self):
        if self.state != RINGING or self.direction != "incoming":
            return
        await self.calls._phone("answer", self)
        await self._connected()

    async def reject(self, status=Status.DECLINED):
        if self.state != RINGING:
            return
        await self.calls._phone("reject", self, status)
        await self.end(status)

    async def hang_up(self):
        if not self.active:
            return
        await self.calls._phone("hang_up", self)
        if self.connected_at is not None:
            await self.end(Status.ANSWERED)
        else:
            await self.end(Status.DECLINED if self.direction == "incoming" else Status.CANCELLED)

    async def set_muted(self, muted):
        if not self.active:
            return
        await self.calls._phone("set_muted", self, muted)
        self.muted = muted
        await self.calls._mirror(self, "set_mute", muted)

    async def set_held(self, held):
        if self.state not in (CONNECTED, HELD):
            return
        await self.calls._phone("set_held", self, held)
        self.held = held
        self.state = HELD if held else CONNECTED
        await self.calls._mirror(self, "set_hold", held)

    async def send_dtmf(self, key):
        if self.state in (CONNECTED, HELD):
            await self.calls._phone("send_dtmf", self, key)

    async def start_transfer(self, target):
        """The card's first step: who to (``target`` a phone number or an employee id)."""
        if self.state not in (CONNECTED, HELD):
            return
        self.transfer_target = target
        self.state = TRANSFERRING
        await self.calls._mirror(self, "set_ui_state", "transferring")

    async def complete_transfer(self):
        """The card's second step: the softphone transfers (blind) and the operator's part of
        the call is over."""
        if self.state != TRANSFERRING:
            return
        await self.calls._phone("transfer", self, self.transfer_target)
        await self.calls._mirror(self, "set_ui_state", "transferConnected")
        await self.end(Status.ANSWERED)

    async def cancel_transfer(self):
        if self.state != TRANSFERRING:
            return
        self.transfer_target = None
        self.state = HELD if self.held else CONNECTED
        await self.calls._mirror(self, "set_ui_state", "connected")  # the timer resumes

    # -- what the softphone reports (plain calls, from any callback) --------------------------

    def remote_answered(self):
        """The other side picked up an outgoing call."""
        if self.state == RINGING:
            spawn(self._connected(), self.calls.log, "answering " + repr(self))

    def remote_hung_up(self):
        """The other side ended the call (or gave up while it rang)."""
        if not self.active:
            return
        if self.connected_at is not None:
            status = Status.ANSWERED
        else:
            status = Status.MISSED if self.direction == "incoming" else Status.DECLINED
        spawn(self.end(status), self.calls.log, "ending " + repr(self))

    def failed(self, status, reason=None):
        """The call cannot go on: ``status`` a :class:`~bx24.telephony.Status` code."""
        if self.active:
            spawn(self.end(status, reason), self.calls.log, "ending " + repr(self))

    # -- the states ------------------------------------------------------------------------------

    async def _connected(self):
        self.state = CONNECTED
        self.connected_at = self.calls.clock()
        await self.calls._mirror(self, "set_ui_state", "connected")
        await self.calls._hook("connected", self)

    async def end(self, status, reason=None):
        """End the call now with ``status`` (once: later calls do nothing): finish it in
        Bitrix24, close its card, run ``ended``."""
        if not self.active:
            return
        self.state = ENDED
        self.ended_at = self.calls.clock()
        self.status = status
        self.failed_reason = reason
        await self.calls._finish(self)
        if self.calls.current is self:
            await self.calls._mirror(self, "close")
            self.calls.current = None
        await self.calls._hook("ended", self)


class Calls:
    """The page's calls: ``card`` (:class:`~bx24.callcard.CallCard`), ``telephony``
    (:class:`~bx24.telephony.Telephony`), ``softphone`` (see :mod:`bx24.softphone`).
    ``line_number`` goes with every registration; ``user_id`` is the operator (asked with
    ``user.current`` when None); ``log`` takes what cannot be raised. A softphone with
    ``lead(leading)`` (:class:`~bx24.sip.SipSoftphone`) is told whenever this frame becomes or
    stops being the operator's leading frame (:meth:`~bx24.callcard.CallCard.on_leader`)."""

    def __init__(self, card, telephony, softphone, line_number=None, user_id=None, log=None,
                 clock=None, register=None, finish=None, skip_status=Status.DECLINED,
                 write_comments=True):
        if skip_status not in Status.ALL:
            raise ValueError("skip_status is a bx24.telephony.Status code, not {!r}".format(
                skip_status))
        self.card = card
        self.register_fields = dict(register or {})
        self.finish_fields = dict(finish or {})
        self.skip_status = skip_status
        self.write_comments = write_comments
        self.telephony = telephony
        self.softphone = softphone
        self.line_number = line_number
        self.user_id = user_id
        self.log = log or stderr
        self.clock = clock or _clock
        self.current = None      # the call the card shows
        self.calls = []          # every call of this page, ended ones included
        self._hooks = {name: [] for name in HOOKS}
        self._by_call_id = {}
        self._unpaired = {}      # CALL_ID -> CallInfo of cards shown before their call is known
        self._early_entity = None
        for event, handler in (
                ("initialized", self._on_initialized), ("entityChanged", self._on_entity),
                ("answerButtonClick", self._on("answer")), ("skipButtonClick", self._on_skip),
                ("addCommentButtonClick", self._on_comment),
                ("qualityMeterClick", self._on_vote),
                ("hangupButtonClick", self._on("hang_up")),
                ("muteButtonClick", self._on("set_muted")),
                ("holdButtonClick", self._on("set_held")),
                ("dialpadButtonClick", self._on("send_dtmf")),
                ("transferButtonClick", self._on_transfer),
                ("completeTransferButtonClick", self._on("complete_transfer")),
                ("cancelTransferButtonClick", self._on("cancel_transfer")),
                ("makeCallButtonClick", self._on_make_call), ("closeButtonClick", self._on_close)):
            card.on(event)(handler)
        card.on_page_hide(self.page_closing)
        softphone.connect(self)
        if hasattr(softphone, "lead"):  # a softphone that must run in one frame only (SIP)
            card.on_leader(softphone.lead)

    def on(self, hook):
        """Decorator: run ``fn(call)`` at ``hook`` (one of :data:`HOOKS`)."""
        if hook not in HOOKS:
            raise ValueError("unknown hook {!r}: use one of {}".format(hook, ", ".join(HOOKS)))

        def register(fn):
            self._hooks[hook].append(fn)
            return fn
        return register

    def start(self):
        """Start receiving the card's events (after the hooks are registered)."""
        self.card.attach()
        return self

    @property
    def active(self):
        return [call for call in self.calls if call.active]

    # -- calls starting ------------------------------------------------------------------------

    def incoming(self, phone_number, line_number=None, handle=None, register=None):
        """The softphone has an incoming call: a :class:`Call`, registered (its card opens) in
        the background (``register``: more register fields for this call)."""
        call = Call(self, "incoming", phone_number, line_number or self.line_number, handle,
                    register=register)
        self.calls.append(call)
        spawn(self._register(call, INCOMING), self.log, "registering " + repr(call))
        return call

    async def dial(self, phone_number, line_number=None, call_id=None, register=None):
        """Call ``phone_number``: registered as outgoing (its card opens; ``call_id`` when
        Bitrix24 registered it already, as for click-to-call), then the softphone dials
        (``register``: more register fields for this call)."""
        call = Call(self, "outgoing", phone_number, line_number or self.line_number,
                    call_id=call_id, register=register)
        self.calls.append(call)
        if call_id is None:
            await self._register(call, OUTGOING)
        else:
            self._by_call_id[call_id] = call
        await self._phone("dial", call)
        call.dialing = True
        await self._mirror(call, "set_ui_state", "connectingOutgoing")
        return call

    async def _register(self, call, kind):
        registered = await self.telephony.register(
            call.phone_number, kind, user_id=self.user_id, line_number=call.line_number,
            show=True, fields=call.register_fields)
        call.registered = registered
        call.call_id = registered.call_id
        self._by_call_id[call.call_id] = call
        if not call.active:  # it ended while being registered: finish it now
            await self._finish(call)
        elif call.call_id in self._unpaired:
            await self._show(call, self._unpaired.pop(call.call_id))

    # -- the card's events -------------------------------------------------------------------------

    async def _on_initialized(self, info):
        call = self._by_call_id.get(info.call_id)
        if call is None:  # the REST answer is not back yet, or a call Bitrix24 started
            self._unpaired[info.call_id] = info
            while len(self._unpaired) > MAX_PENDING:
                del self._unpaired[next(iter(self._unpaired))]
            self.current = None
            return
        await self._show(call, info)

    async def _show(self, call, info):
        call.info = info
        call.notes = self.card.take_notes()
        self.current = call
        if self._early_entity is not None:
            call.entity, self._early_entity = self._early_entity, None
        if call.dialing and call.state == RINGING:
            await self._mirror(call, "set_ui_state", "connectingOutgoing")
        await self._hook("shown", call)

    async def _on_entity(self, entity):
        call = self.current
        if call is None or call.info is None:
            self._early_entity = entity  # for the card about to be shown
            return
        call.entity = entity
        await self._hook("entity", call)

    def _on(self, action):
        async def handler(*args):
            call = self.current
            if call is not None:
                await getattr(call, action)(*args)
        return handler

    async def _on_skip(self):
        call = self.current
        if call is not None:
            await call.reject(self.skip_status)

    async def _on_comment(self, text):
        call = self.current
        if call is None or not isinstance(text, str) or not text.strip():
            return
        call.comments.append(text)
        if call._finish_sent and call.finish_record is not None:
            await self._write_comments(call)  # written after the finish: update it

    async def _on_vote(self, stars):
        call = self.current
        try:
            vote = int(stars)
        except (TypeError, ValueError):
            return
        if call is not None and 1 <= vote <= 5:
            call.vote = vote

    async def _on_transfer(self, target):
        if self.current is not None:
            await self.current.start_transfer(target.target)

    async def _on_make_call(self):
        call = self.current
        if call is not None and call.active:
            return
        info = self.card.call
        if info is None or not info.phone_number:
            return
        # An outgoing card: one Bitrix24 raised (click-to-call: registered already), or a
        # redial after a busy line (a new call).
        call_id = info.call_id if info.call_id in self._unpaired else None
        self._unpaired.pop(info.call_id, None)
        call = await self.dial(info.phone_number, call_id=call_id)
        if call_id is not None:
            await self._show(call, info)

    async def _on_close(self):
        call, self.current = self.current, None
        if call is not None and call.active:
            await call.hang_up()

    # -- helpers -----------------------------------------------------------------------------------

    async def _phone(self, action, call, *args):
        await _maybe_await(getattr(self.softphone, action)(call, *args))

    async def _mirror(self, call, command, *args):
        """Show on the card what happened to ``call``, if the card shows it; the card is best
        effort (the call goes on whatever the card answers)."""
        if self.current is not call or not self.card.active:
            return
        try:
            await getattr(self.card, command)(*args)
        except Bx24Error as error:
            self.log("the card did not take {}: {}".format(command, error))

    async def _hook(self, name, call):
        for fn in list(self._hooks[name]):
            try:
                await _maybe_await(fn(call))
            except Exception as exc:
                self.log("hook {} of {!r} raised:\n{}".format(
                    getattr(fn, "__name__", repr(fn)), name, format_exception(exc)))

    async def _finish(self, call):
        """``telephony.externalcall.finish`` for an ended call, once; later if its CALL_ID is
        not known yet (the registration finishes it)."""
        if call._finish_sent or call.call_id is None:
            return
        call._finish_sent = True
        await self._hook("finishing", call)
        try:
            call.finish_record = await self.telephony.finish(
                call.call_id, call.duration, call.status, user_id=self.user_id,
                failed_reason=call.failed_reason, fields=_finish_fields(call))
        except (Bx24Error, ValueError) as error:
            self.log("finishing {!r} failed: {}".format(call, error))
            return
        if call.comments:
            await self._write_comments(call)

    async def _write_comments(self, call):
        """The card's comments, into the call's CRM activity (where the CRM shows the call)."""
        activity = (call.finish_record or {}).get("CRM_ACTIVITY_ID")
        if not self.write_comments or not activity:
            return
        try:
            await self.telephony.rest.call("crm.activity.update", {
                "id": activity, "fields": {"DESCRIPTION": "\n".join(call.comments)}})
        except Bx24Error as error:
            self.log("the comment on {!r} was not written to its CRM activity {}: {}".format(
                call, activity, error))

    def page_closing(self):
        """The page goes away (navigation, tab or slider closed): every call still going is
        finished now, without waiting for an answer (answered ones as answered), a note says so
        on the operator's next card (``call.notes``), and a softphone with ``page_closing()``
        is told (a SIP phone hangs up and unregisters)."""
        for call in self.active:
            self.card.leave_note("The call with {} was cut off: the page it was on closed.".format(
                call.phone_number))
            if call.connected_at is not None:
                status = Status.ANSWERED
            else:
                status = Status.MISSED if call.direction == "incoming" else Status.CANCELLED
            call.state, call.ended_at, call.status = ENDED, self.clock(), status
            if call.call_id is not None and not call._finish_sent:
                call._finish_sent = True
                try:
                    self.telephony.finish_now(call.call_id, call.duration, status,
                                              user_id=self.user_id,
                                              fields=_finish_fields(call))
                except Exception as exc:
                    self.log("finishing {!r} as the page closed failed: {}".format(call, exc))
        closing = getattr(self.softphone, "page_closing", None)
        if closing is not None:
            try:
                closing()
            except Exception as exc:
                self.log("the softphone failed as the page closed: {!r}".format(exc))
