"""bx24: Bitrix24 call-card logic in Python, in the browser (Pyodide and MicroPython).

    import bx24

    softphone = bx24.sip_softphone("wss://pbx.example.com/ws", "sip:101@pbx.example.com",
                                   password=secret)   # JsSIP in the page (bx24.sip)
    calls = bx24.calls(softphone)   # its calls on Bitrix24's card; it registers in one frame

    @calls.on("shown")
    async def show(call):
        await calls.card.set_title("Call " + call.phone_number)

    calls.start()   # deliver the events queued since the page loaded, then live ones

:func:`card` alone gives the card (commands and events), :func:`rest` Bitrix24's REST,
:func:`telephony` the telephony methods; any other softphone plugs into :func:`calls` through
:class:`Softphone` (:class:`StandInSoftphone` has no telephony: for logic tests). Importing this package does not import ``pyscript``:
those functions do, so the pure modules run (and are tested) in CPython.
"""

from .calls import Call, Calls
from .callcard import CallCard
from .commands import UI_STATES
from .errors import (
    Bx24Error, CardUndefinedError, CommandError, CommandTimeoutError, InvalidUiStateError,
    MalformedPayloadError, MissingFieldError, PlacementError, RestError, RestTimeoutError,
    UnexpectedResultError,
)
from .events import EVENTS, CallInfo, CrmBinding, Entity, TransferTarget
from .placement import PAGE_BACKGROUND_WORKER, Interface, PlacementInfo
from .rest import Rest, RestResult
from .sip import SipSoftphone
from .softphone import Softphone, StandInSoftphone
from .tasks import spawn
from .telephony import Registered, Status, Telephony


def card(timeout=5.0, timer_grace=0.5, log=None):
    """The page's call card, wired to the browser (see :func:`bx24.browser.card`)."""
    from .browser import card as browser_card
    return browser_card(timeout=timeout, timer_grace=timer_grace, log=log)


def rest(timeout=10.0, retries=3, backoff=1.0):
    """Bitrix24 REST, signed by the page's BX24 (see :mod:`bx24.rest`)."""
    from .browser import rest as browser_rest
    return browser_rest(timeout=timeout, retries=retries, backoff=backoff)


def telephony(timeout=10.0):
    """``telephony.externalcall.*`` over :func:`rest` (see :mod:`bx24.telephony`)."""
    from .browser import telephony as browser_telephony
    return browser_telephony(timeout=timeout)


def calls(softphone, line_number=None, user_id=None, log=None):
    """The page's :class:`~bx24.calls.Calls` for ``softphone`` (one per page)."""
    from .browser import calls as browser_calls
    return browser_calls(softphone, line_number=line_number, user_id=user_id, log=log)


def sip_softphone(server, uri=None, **options):
    """A SIP softphone over JsSIP in the page, for :func:`calls`: :class:`SipSoftphone`'s
    arguments (``password``, ``account``, ``display_name``, ``domain``, ``dtmf``, ``log``;
    see :mod:`bx24.sip`)."""
    from .browser import sip_softphone as browser_sip_softphone
    return browser_sip_softphone(server, uri, **options)
