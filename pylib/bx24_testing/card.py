"""The test's side of the call card: raise calls, click buttons, read what the frame sent.

A thin Python handle over the stub's control API (``window.BX24Stub``) in a loaded frame.
Waiting is always on a condition in the page, never on time.

Waits look at what the frame sent **since the test's last action** on this handle (a raised
call, a click, a fired event, a softphone action): the commands an action causes come after
it, and a command sent earlier can never satisfy a later wait. ``mark()`` takes a point to
wait from explicitly: ``wait_for_command(..., after=mark)``; ``after=0`` looks at everything.
"""

import json

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

DEFAULT_TIMEOUT_MS = 10_000

# JS: does a recorded entry's params hold `wanted` (scalars compared as text: REST params
# arrive form-encoded, every value a string; objects compared whole)?
MATCHES = """function matches(received, wanted) {
    return Object.entries(wanted).every(([k, v]) => received && k in received && (
        v !== null && typeof v === "object"
            ? JSON.stringify(received[k]) === JSON.stringify(v)
            : String(received[k]) === String(v) && typeof received[k] !== "object"));
}"""


class CommandNotSent(AssertionError):
    """An expected command (or REST call) did not come; the message lists what did."""


PHONE_TIMEOUT_MS = 5000


class StandInPhone:
    """The other side of the app's softphone (``card.softphone``): the SIP stand-in's phone
    under ``bx24.sip_softphone``, or :class:`bx24.StandInSoftphone`; what the caller or the
    callee does."""

    def __init__(self, card):
        self._card = card

    def _do(self, action, *args):
        self._card._acted()
        self._card._stub("softphone", action, *args)

    def ring(self, phone_number, line_number=None):
        """A call comes in from ``phone_number`` (once the app's softphone is there: a SIP
        softphone starts after the frame knows it leads and has the operator's account)."""
        self.wait_ready()
        self._do("ring", phone_number, *([line_number] if line_number else []))

    def wait_ready(self, timeout_ms=PHONE_TIMEOUT_MS):
        """Wait until the app's phone can take a call (``window.bx24StandInSoftphone``)."""
        try:
            self._card.frame.target.wait_for_function(
                "() => !!window.bx24StandInSoftphone", timeout=timeout_ms
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"the app's softphone was not ready within {timeout_ms} ms: does the app make "
                "one (bx24.sip_softphone or bx24.StandInSoftphone in bx24.calls)? console:\n"
                + self._card.frame.console_text()[-4000:]
            ) from None

    def pick_up(self):
        """The callee answers the outgoing call."""
        self._do("pickUp")

    def hang_up(self):
        """The other side hangs up (or gives up while it rings)."""
        self._do("hangUp")

    def fail(self, status, reason=None):
        """The call fails with a ``bx24.Status`` code (busy ``"486"``...)."""
        self._do("fail", str(status), *([reason] if reason else []))

    def refuse_registration(self, code=403):
        """(a SIP softphone) The SIP server refuses the registration or its refresh with
        ``code`` (401: the password, 403, 408: no answer...); calls go on."""
        from .fake import registration_refused

        refused = registration_refused(code)
        self._do("refuseRegistration", refused["cause"], refused["code"])

    def drop_link(self, network=False):
        """(a SIP softphone) The WebSocket to the SIP server drops (``network``: this
        computer's network went away); calls go on."""
        self._do("dropLink", bool(network))

    def register_again(self):
        """(a SIP softphone) Registered again (the server took it, the link is back)."""
        self._do("registerAgain")


class StubCard:
    """The simulated Bitrix24 call card of a frame loaded with
    :func:`bx24_testing.frame.open_frame`."""

    def __init__(self, frame):
        self.frame = frame
        self.page = frame.page
        self.portal = frame.portal  # the bx24_testing.bitrix24.Portal: its REST, its app
        self.softphone = StandInPhone(self)
        self._since = {"commands": 0, "rest": 0}

    def _stub(self, method, *args):
        return self.frame.evaluate(
            "([method, args]) => BX24Stub[method](...args)", [method, list(args)]
        )

    def mark(self):
        """A point in what the frame sent, to wait from: ``wait_for_command(..., after=m)``."""
        return self.frame.evaluate(
            "({commands: BX24Stub.commands().length, rest: BX24Stub.restCalls().length})"
        )

    def _acted(self):
        self._since = self.mark()

    def _after(self, after, kind):
        if after is None:
            return self._since[kind]
        return after[kind] if isinstance(after, dict) else int(after)

    # -- driving the card -------------------------------------------------------------------

    def raise_call(self, ui_state=None, **overrides):
        """Open a card and fire ``initialized``, as for a call Bitrix24 started (click-to-call
        makes an outgoing one): realistic defaults, ``overrides`` by payload key
        (``PHONE_NUMBER="+7..."``; ``None`` removes a key, as Bitrix24 does for unknown numbers).
        A call of the app's softphone opens its card through REST: ``softphone.ring(...)``."""
        self._acted()
        options = {"uiState": ui_state} if ui_state else {}
        return self._stub("raiseCall", overrides, options)

    def click(self, button, arg=None):
        """Click a card button (``"mute"``, ``"hangup"``, ``"transfer"``...). Refused, with the
        buttons that are shown, when the current state does not show it."""
        self._acted()
        args = [button] if arg is None else [button, arg]
        try:
            return self._stub("click", *args)
        except Exception as error:
            raise AssertionError(str(error).split("\n")[0]) from None

    def fire(self, event, payload=None):
        """Fire any ``BackgroundCallCard::`` event with any payload, malformed ones included."""
        self._acted()
        return self._stub("fire", event, payload)

    def respond(self, method, response):
        """Program a REST method's answer at the portal: ``{"result": ...}``, ``{"error": ...,
        ...}``, ``{"status": 503, "error": ...}``, ``{"status": 502, "body": "<html>"}``,
        ``{"network": True}``, ``{"items": [...]}`` (paged), or a list of them in turn."""
        self.portal.respond(method, response)

    # -- reading what happened ---------------------------------------------------------------

    def state(self):
        """The card as the stub models it: state, muted, held, title, statusText, timer, closed."""
        return self._stub("card")

    def commands(self, command=None, after=0):
        """Every ``BX24.placement.call`` the frame made (optionally only ``command``), in
        order, from ``after`` (a :meth:`mark`, or 0: all)."""
        entries = self._stub("commands")[self._after(after, "commands") :]
        return [e for e in entries if command is None or e["command"] == command]

    def rest_calls(self, method=None, after=0):
        """Every REST call the frame made (``{"method", "params", "status", "answer",
        "batch"}``; params decoded as Bitrix24 decodes the form: every value a string,
        bracketed keys as nested dicts: ``{"fields": {"TITLE": "x"}}``), of ``method`` if given
        (any letter case), from ``after``."""
        entries = self._stub("restCalls")[self._after(after, "rest") :]
        return [e for e in entries if method is None or e["method"].lower() == method.lower()]

    def events(self):
        """Every event the stub delivered to the frame (``{"event", "payload", "source"}``), in
        order."""
        return self._stub("events")

    def bindings(self):
        """Every ``BX24.placement.bindEvent`` the frame made (the events it listens to)."""
        return self._stub("bindings")

    def _wait(self, kind, read, name, field, timeout_ms, after, params):
        start = self._after(after, kind)
        predicate = (
            MATCHES
            + """
            return BX24Stub[read]().slice(start).find(e =>
                e[field].toLowerCase() === name.toLowerCase() && matches(e.params, params))
                || false;"""
        )
        try:
            found = self.frame.target.wait_for_function(
                f"([read, field, name, params, start]) => {{ {predicate} }}",
                arg=[read, field, name, params, start],
                timeout=timeout_ms,
                polling=50,
            )
        except Exception:
            sent = [(e[field], e.get("params")) for e in self._stub(read)[start:]]
            wanted = f"{name}({json.dumps(params)})" if params else name
            what = "command" if kind == "commands" else "REST call"
            raise CommandNotSent(
                f"the frame did not send the {what} {wanted} within {timeout_ms} ms "
                f"{'since the last action' if after is None else 'after the mark'}; it sent: "
                f"{json.dumps(sent) if sent else 'nothing'}\n"
                f"console:\n{self.frame.console_text()}"
            ) from None
        return found.json_value()  # the first match, as the wait saw it

    def wait_for_command(self, command, timeout_ms=DEFAULT_TIMEOUT_MS, after=None, **params):
        """Wait until the frame sends ``command`` with at least ``params``, since the last
        action (or ``after``); return its record.

        ``card.wait_for_command("CallCardSetMute", muted=True)``
        """
        return self._wait("commands", "commands", command, "command", timeout_ms, after, params)

    def wait_for_rest(self, method, timeout_ms=DEFAULT_TIMEOUT_MS, after=None, **params):
        """Wait until the frame calls REST ``method`` with at least ``params`` (compared as
        Bitrix24 receives them: ``DURATION="42"`` or ``DURATION=42``), since the last action
        (or ``after``); return its record.

        ``card.wait_for_rest("telephony.externalcall.finish", STATUS_CODE="304")``
        """
        return self._wait("rest", "restCalls", method, "method", timeout_ms, after, params)
