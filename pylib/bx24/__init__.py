"""bx24: Bitrix24 call-card logic in Python, in the browser (Pyodide and MicroPython).

    import bx24

    card = bx24.card()

    @card.on("initialized")
    async def show(call):
        await card.set_title("Incoming call " + (call.phone_number or "unknown number"))

    card.attach()   # deliver the events queued since the page loaded, then live ones

Importing this package does not import ``pyscript``: :func:`card` does, so the
pure modules run (and are tested) in CPython.
"""

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


def card(timeout=5.0, timer_grace=0.5, log=None):
    """The page's call card, wired to the browser (see :func:`bx24.browser.card`)."""
    from .browser import card as browser_card
    return browser_card(timeout=timeout, timer_grace=timer_grace, log=log)


def rest(timeout=10.0):
    """Bitrix24 REST through the page's BX24 (see :func:`bx24.browser.rest`)."""
    from .browser import rest as browser_rest
    return browser_rest(timeout=timeout)
