"""The browser glue: with :mod:`bx24.view` (the application pages' DOM), the only module that
imports ``pyscript``.

A thin shell over ``window.bx24Bridge`` (bridge.js): it forwards calls and
hands Python's message handler to JavaScript. Everything with logic lives in
:mod:`bx24.callcard`, which is tested in CPython.
"""

from pyscript import window
from pyscript.ffi import create_proxy

from .calls import Calls
from .callcard import CallCard
from .errors import PlacementError
from .log import stderr
from .rest import Rest
from .sip import SipSoftphone
from .softphone import StandInSoftphone
from .telephony import Telephony


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

    def rest(self, method, body, wait_ms):
        return self._js.rest(method, body, wait_ms)

    def refresh_auth(self, wait_ms):
        return self._js.refreshAuth(wait_ms)

    def beacon(self, method, body):
        self._js.beacon(method, body)

    def attach(self, receive):
        self._receiver = create_proxy(receive)
        self._js.attach(self._receiver)

    def on_page_hide(self, handler):
        """``handler()`` when the page goes away (navigation, tab or slider closed)."""
        self._page_hide = create_proxy(handler)
        self._js.onPageHide(self._page_hide)

    def on_leader(self, handler):
        """``handler(leading)`` when this frame becomes, or stops being, the operator's leading
        frame (frames.js; at once when alone)."""
        proxy = create_proxy(lambda leading: handler(bool(leading)))
        _exposed.append(proxy)
        self._js.onLeader(proxy)

    def leave_note(self, text):
        self._js.leaveNote(text)

    def take_notes(self):
        return self._js.takeNotes()

    def sip_phone(self, options_json, receive):
        """A promise of the page's SIP phone (bridge.js → sip.mjs → JsSIP)."""
        proxy = create_proxy(receive)
        _exposed.append(proxy)
        return self._js.sip(options_json, proxy)


_card = None
_bridge = None
_calls = None


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


def card(**options):
    """The page's :class:`~bx24.callcard.CallCard` (one per page: every call returns
    the same card; ``options`` apply when it is created). Without ``log``, what the card cannot
    raise (a failing handler, a malformed event) goes to the console and to the server."""
    global _card
    if _card is None:
        options["log"] = options.get("log") or report
        _card = CallCard(_page_bridge(), **options)
    return _card


def rest(**options):
    """A :class:`~bx24.rest.Rest` client over the page's BX24 (its ``options``)."""
    return Rest(_page_bridge(), **options)


def _new_external_id():
    return "bx24-" + str(window.crypto.randomUUID())


def telephony(**options):
    """:class:`~bx24.telephony.Telephony` over :func:`rest` (``options`` are its), with call ids
    from the browser's ``crypto.randomUUID``."""
    return Telephony(rest(**options), new_external_id=_new_external_id)


def calls(softphone, **options):
    """The page's :class:`~bx24.calls.Calls` (one per page): over the page's card and REST,
    finishing its calls when the page goes away (a softphone with ``lead(leading)``, the SIP
    one, runs in the operator's leading frame only: see :class:`~bx24.calls.Calls`). A
    :class:`~bx24.softphone.StandInSoftphone` is
    driven from JavaScript as ``window.bx24StandInSoftphone`` (``ring(number, line)``,
    ``pickUp()``, ``hangUp()``, ``fail(status, reason)``)."""
    global _calls
    if _calls is None:
        log = options.get("log")
        options["log"] = log or report
        _calls = Calls(card(log=log), telephony(), softphone, **options)
        if isinstance(softphone, StandInSoftphone):
            _expose_stand_in(softphone)
    return _calls


def sip_softphone(server, uri=None, **options):
    """A :class:`~bx24.sip.SipSoftphone` (its arguments) over the page's JsSIP, loaded on first
    use. Give it to :func:`calls`: it registers from the operator's leading frame only."""
    bridge = _page_bridge()

    async def new_phone(options_json, receive):
        return await bridge.sip_phone(options_json, receive)

    options["log"] = options.get("log") or report
    return SipSoftphone(server, uri, new_phone=new_phone, **options)


def app_page(**options):
    """The page's :class:`~bx24.apppage.AppPage` (the install page, the main page): its bridge,
    REST (``options`` are :class:`~bx24.rest.Rest`'s), and view."""
    from .apppage import AppPage
    from .view import View

    return AppPage(_page_bridge()._js, rest(**options), View(report), report)


def _expose_stand_in(softphone):
    from pyscript.ffi import to_js

    def ring(number, line=None):
        softphone.ring(str(number), None if line is None else str(line))

    functions = {"ring": ring, "pickUp": softphone.pick_up, "hangUp": softphone.hang_up_remote,
                 "fail": lambda status, reason=None: softphone.fail(str(status), reason)}
    _exposed.extend(create_proxy(fn) for fn in functions.values())
    proxies = _exposed[-len(functions):]
    window.bx24StandInSoftphone = to_js({name: proxies[i] for i, name in enumerate(functions)})


_exposed = []  # proxies JavaScript keeps calling: they must outlive this module's functions
