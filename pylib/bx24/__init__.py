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
:class:`Softphone` (:class:`StandInSoftphone` has no telephony: for logic tests). Importing
this package does not import ``pyscript``: those functions do, so the pure modules run (and
are tested) in CPython.
"""

from .apppage import AppPage
from .calls import Call, Calls
from .callcard import CallCard
from .commands import UI_STATES
from .errors import (
    Bx24Error, CardUndefinedError, CommandError, CommandTimeoutError, InvalidUiStateError,
    MalformedPayloadError, MissingFieldError, PlacementError, RestError, RestTimeoutError,
    UnexpectedResultError,
)
from .events import EVENTS, CallInfo, CrmBinding, Entity, TransferTarget
from .operator import SIP_PASSWORD_OPTION, sip_account
from .placement import PAGE_BACKGROUND_WORKER, Interface, PlacementInfo
from .rest import Rest, RestResult
from .sip import SipSoftphone
from .softphone import Softphone, StandInSoftphone
from .tasks import spawn
from .telephony import Registered, Status, Telephony

__all__ = [
    "Call", "Calls", "CallCard", "UI_STATES", "Bx24Error", "CardUndefinedError", "CommandError",
    "CommandTimeoutError", "InvalidUiStateError", "MalformedPayloadError", "MissingFieldError",
    "PlacementError", "RestError", "RestTimeoutError", "UnexpectedResultError", "EVENTS",
    "CallInfo", "CrmBinding", "Entity", "TransferTarget", "PAGE_BACKGROUND_WORKER", "Interface",
    "PlacementInfo", "Rest", "RestResult", "SipSoftphone", "Softphone", "StandInSoftphone",
    "spawn", "Registered", "Status", "Telephony", "card", "rest", "telephony", "calls",
    "sip_softphone", "AppPage", "app_page", "SIP_PASSWORD_OPTION", "sip_account",
]

# The page's objects, made by bx24.browser (the only module that imports pyscript). Each takes
# the options of the class it makes, and forwards them: the defaults are the class's, written once.

def card(**options):
    """The page's :class:`CallCard` (its options: ``timeout``, ``timer_grace``, ``log``)."""
    from .browser import card as browser_card
    return browser_card(**options)


def rest(**options):
    """Bitrix24 REST, signed by the page's BX24: a :class:`Rest` (``timeout``, ``retries``,
    ``backoff``)."""
    from .browser import rest as browser_rest
    return browser_rest(**options)


def telephony(**options):
    """``telephony.externalcall.*`` over :func:`rest` (its options): a :class:`Telephony`."""
    from .browser import telephony as browser_telephony
    return browser_telephony(**options)


def calls(softphone, **options):
    """The page's :class:`Calls` for ``softphone`` (one per page; ``line_number``, ``user_id``,
    ``log``)."""
    from .browser import calls as browser_calls
    return browser_calls(softphone, **options)


def app_page(**options):
    """The application page's :class:`AppPage` (the install and main pages: :mod:`bx24.install`,
    :mod:`bx24.mainpage`); ``options`` go to its :class:`Rest`."""
    from .browser import app_page as browser_app_page
    return browser_app_page(**options)


def sip_softphone(server, uri=None, **options):
    """A SIP softphone over JsSIP in the page, for :func:`calls`: :class:`SipSoftphone`'s
    arguments (``password``, ``account``, ``display_name``, ``domain``, ``dtmf``, ``log``;
    see :mod:`bx24.sip`)."""
    from .browser import sip_softphone as browser_sip_softphone
    return browser_sip_softphone(server, uri, **options)
