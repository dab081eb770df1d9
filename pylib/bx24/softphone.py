"""What a call session needs from a softphone, and a stand-in that has no telephony.

A softphone (a SIP/WebRTC client in the frame) and :class:`bx24.calls.Calls` talk through a
small interface, so the card and Bitrix24's REST are driven the same way whatever the
softphone is.

The session tells the softphone (methods of :class:`Softphone`; plain or ``async``):
``answer(call)``, ``reject(call, status)``, ``hang_up(call)``, ``dial(call)`` (outgoing: call
``call.phone_number``), ``set_muted(call, muted)``, ``set_held(call, held)``,
``send_dtmf(call, key)``, ``transfer(call, target)`` (blind).

The softphone tells the session (methods of :class:`~bx24.calls.Calls` and
:class:`~bx24.calls.Call`, plain functions it may call from any callback):
``calls.incoming(phone_number, line_number=None, handle=None)`` → the new
:class:`~bx24.calls.Call`; ``call.remote_answered()``, ``call.remote_hung_up()``,
``call.failed(status, reason)`` (``status`` a :class:`bx24.telephony.Status` code).
``call.handle`` is whatever the softphone passed (its own session object).
"""

from .log import stderr


class Softphone:
    """The interface (each method may be plain or ``async``). ``connect(calls)`` is called
    once by the session so the softphone knows whom to tell."""

    calls = None

    def connect(self, calls):
        self.calls = calls

    def answer(self, call):
        raise NotImplementedError

    def reject(self, call, status):
        raise NotImplementedError

    def hang_up(self, call):
        raise NotImplementedError

    def dial(self, call):
        raise NotImplementedError

    def set_muted(self, call, muted):
        raise NotImplementedError

    def set_held(self, call, held):
        raise NotImplementedError

    def send_dtmf(self, call, key):
        raise NotImplementedError

    def transfer(self, call, target):
        raise NotImplementedError


class StandInSoftphone(Softphone):
    """A softphone with no telephony: it says what a real one would do, and the other side is
    played by whoever drives it (the emulator's "softphone" buttons, a test). In the page it is
    reachable from JavaScript as ``window.bx24StandInSoftphone`` (:mod:`bx24.browser`):
    ``ring(number, line)``, ``pickUp()``, ``hangUp()``, ``fail(status, reason)``. Replace it with
    your real softphone."""

    def __init__(self, say=None):
        self.said = []
        self._say_to = say or (lambda text: print("[softphone stand-in] " + text))

    def _say(self, text):
        self.said.append(text)
        self._say_to(text)

    # what the session asks
    def answer(self, call):
        self._say("answer the call from " + call.phone_number)

    def reject(self, call, status):
        self._say("reject the call ({})".format(status))

    def hang_up(self, call):
        self._say("hang up")

    def dial(self, call):
        self._say("dial " + call.phone_number)

    def set_muted(self, call, muted):
        self._say("microphone " + ("muted" if muted else "on"))

    def set_held(self, call, held):
        self._say("call " + ("held" if held else "resumed"))

    def send_dtmf(self, call, key):
        self._say("DTMF " + key)

    def transfer(self, call, target):
        self._say("transfer to " + target)

    # what the other side does (driven from outside)
    def ring(self, phone_number, line_number=None):
        """A call comes in from ``phone_number``."""
        if self.calls is None:
            stderr("[softphone stand-in] a call rang before the session connected")
            return None
        return self.calls.incoming(phone_number, line_number)

    def _call(self):
        """The call the other side acts on: the newest one still going."""
        active = self.calls.active if self.calls is not None else []
        return active[-1] if active else None

    def pick_up(self):
        """The other side answers the outgoing call being dialled."""
        call = self._call()
        if call is not None:
            call.remote_answered()

    def hang_up_remote(self):
        """The other side hangs up (or gives up while it rings)."""
        call = self._call()
        if call is not None:
            call.remote_hung_up()

    def fail(self, status, reason=None):
        """The call fails (busy, declined, unreachable...): a :class:`~bx24.telephony.Status`."""
        call = self._call()
        if call is not None:
            call.failed(status, reason)
