"""The browser glue: the only module that imports ``pyscript``.

A thin shell over ``window.bx24Bridge`` (bridge.js): it forwards calls and
hands Python's message handler to JavaScript. Everything with logic lives in
:mod:`bx24.callcard`, which is tested in CPython.
"""

from pyscript import window
from pyscript.ffi import create_proxy

from .callcard import CallCard
from .errors import PlacementError
from .log import stderr
from .rest import Rest


class BrowserBridge:
    """The bridge protocol of :mod:`bx24.callcard` over ``window.bx24Bridge``."""

    def __init__(self, js_bridge):
        self._js = js_bridge
        self._receiver = None  # the proxy must outlive this call: JS keeps calling it

    def call(self, command, params_json, wait_ms):
        return self._js.call(command, params_json, wait_ms)

    def info(self, wait_ms):
        return self._js.info(wait_ms)

    def get_interface(self, wait_ms):
        return self._js.getInterface(wait_ms)

    def call_method(self, method, params_json, wait_ms):
        return self._js.callMethod(method, params_json, wait_ms)

    def attach(self, receive):
        self._receiver = create_proxy(receive)
        self._js.attach(self._receiver)


_card = None
_bridge = None


def _page_bridge():
    global _bridge
    if _bridge is None:
        js_bridge = getattr(window, "bx24Bridge", None)
        if js_bridge is None:
            raise PlacementError(
                "window.bx24Bridge is missing: the frame must load pylib/bx24/bridge.js "
                "after the BX24 library and before PyScript")
        _bridge = BrowserBridge(js_bridge)
    return _bridge


def report(message):
    """The default log of the page's card: the console, and the app's server (the frame's
    boot loader sends it as a ``python`` report, a few per page at most)."""
    stderr(message)
    reporter = getattr(window, "bx24Report", None)
    if reporter:
        reporter("python", message)


def card(timeout=5.0, timer_grace=0.5, log=None):
    """The page's :class:`~bx24.callcard.CallCard` (one per page: every call returns
    the same card; options apply when it is created). Without ``log``, what the card cannot
    raise (a failing handler, a malformed event) goes to the console and to the server."""
    global _card
    if _card is None:
        _card = CallCard(_page_bridge(), timeout=timeout, timer_grace=timer_grace,
                         log=log or report)
    return _card


def rest(timeout=10.0):
    """A :class:`~bx24.rest.Rest` client over the page's BX24."""
    return Rest(_page_bridge(), timeout=timeout)
