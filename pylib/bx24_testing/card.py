"""The test's side of the call card: raise calls, click buttons, read what the frame sent.

A thin Python handle over the stub's control API (``window.BX24Stub``) in a loaded frame.
Waiting is always on a condition in the page, never on time.
"""

import json

DEFAULT_TIMEOUT_MS = 10_000


class CommandNotSent(AssertionError):
    """An expected command did not arrive; the message lists what did."""


def _matches(entry, command, params):
    if entry["command"] != command:
        return False
    received = entry.get("params") or {}
    return all(key in received and received[key] == value for key, value in params.items())


class StubCard:
    """The simulated Bitrix24 call card of a frame loaded with :func:`bx24_testing.frame.open_frame`."""

    def __init__(self, frame):
        self.frame = frame
        self.page = frame.page

    def _stub(self, method, *args):
        return self.frame.evaluate(
            "([method, args]) => BX24Stub[method](...args)", [method, list(args)])

    # -- driving the card -------------------------------------------------------------------

    def raise_call(self, ui_state=None, **overrides):
        """Open a card and fire ``initialized``: realistic defaults, ``overrides`` by payload key
        (``PHONE_NUMBER="+7..."``; ``None`` removes a key, as Bitrix24 does for unknown numbers)."""
        options = {"uiState": ui_state} if ui_state else {}
        return self._stub("raiseCall", overrides, options)

    def click(self, button, arg=None):
        """Click a card button (``"mute"``, ``"hangup"``, ``"transfer"``...). Refused, with the
        buttons that are shown, when the current state does not show it."""
        args = [button] if arg is None else [button, arg]
        try:
            return self._stub("click", *args)
        except Exception as error:
            raise AssertionError(str(error).split("\n")[0]) from None

    def fire(self, event, payload=None):
        """Fire any ``BackgroundCallCard::`` event with any payload, malformed ones included."""
        return self._stub("fire", event, payload)

    def respond(self, method, response):
        """Program the answer of a REST method: ``{"result": ...}`` or ``{"error": ..., ...}``."""
        return self._stub("respond", method, response)

    # -- reading what happened ---------------------------------------------------------------

    def state(self):
        """The card as the stub models it: state, muted, held, title, statusText, timer, closed."""
        return self._stub("card")

    def commands(self, command=None):
        """Every ``BX24.placement.call`` the frame made (optionally only ``command``), in order."""
        entries = self._stub("commands")
        return [e for e in entries if command is None or e["command"] == command]

    def events(self):
        return self._stub("events")

    def bindings(self):
        return self._stub("bindings")

    def wait_for_command(self, command, timeout_ms=DEFAULT_TIMEOUT_MS, **params):
        """Wait until the frame sends ``command`` with at least ``params``; return its record.

        ``card.wait_for_command("CallCardSetMute", muted=True)``
        """
        predicate = """([command, params]) => BX24Stub.commands().some(e => e.command === command
            && Object.entries(params).every(([k, v]) =>
                e.params && JSON.stringify(e.params[k]) === JSON.stringify(v)))"""
        try:
            self.frame.target.wait_for_function(predicate, arg=[command, params],
                                                timeout=timeout_ms, polling=50)
        except Exception:
            sent = [(e["command"], e.get("params")) for e in self.commands()]
            wanted = f"{command}({json.dumps(params)})" if params else command
            raise CommandNotSent(
                f"the frame did not send {wanted} within {timeout_ms} ms; it sent: "
                f"{json.dumps(sent) if sent else 'nothing'}\nconsole:\n{self.frame.console_text()}"
            ) from None
        return next(e for e in self.commands() if _matches(e, command, params))
