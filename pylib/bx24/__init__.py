"""bx24: Bitrix24 call-card logic in Python, in the browser (Pyodide and MicroPython).

    import bx24

    softphone = bx24.page.sip_softphone("wss://pbx.example.com/ws", "sip:101@pbx.example.com",
                                        password=secret)   # JsSIP in the page (bx24.sip)
    calls = bx24.page.calls(softphone)   # its calls on Bitrix24's card; registers in one frame

    @calls.on("shown")
    async def show(call):
        await calls.card.set_title("Call " + call.phone_number)

    calls.start()   # deliver the events queued since the page loaded, then live ones

:mod:`bx24.page` makes the page's objects: ``page.card()`` alone gives the card (commands and
events), ``page.rest()`` Bitrix24's REST, ``page.telephony()`` the telephony methods; any other
softphone plugs into ``page.calls()`` through :class:`Softphone` (:class:`StandInSoftphone` has
no telephony: for logic tests). The modules hold the classes and constants
(``bx24.telephony.INCOMING``). Importing this package does not import ``pyscript``: the page's
functions do, so the pure modules run (and are tested) in CPython.
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
    "spawn", "Registered", "Status", "Telephony", "page", "AppPage", "SIP_PASSWORD_OPTION",
    "sip_account",
]

# bx24 0.1 named the page's functions bx24.card(), bx24.rest(), bx24.telephony(),
# bx24.calls(), bx24.sip_softphone(): three of them hid the modules of the same names
# (bx24.telephony.INCOMING failed). They are bx24.page's now; the old names work for one more
# release, with a warning, and give the module's names as attributes.

def _warn(name):
    message = ("bx24.{0}() is bx24.page.{0}() now; the old name goes in the next release"
               .format(name))
    try:
        import warnings
        warnings.warn(message, DeprecationWarning, 3)
    except ImportError:  # MicroPython without the warnings module
        from .log import stderr
        stderr(message)


class _Renamed:
    """An old name of a :mod:`bx24.page` function (see above): calling it warns and calls
    that; its attributes are the module ``module``'s."""

    def __init__(self, name, module=None):
        self._name = name
        self._module = module

    def __call__(self, *args, **options):
        _warn(self._name)
        return getattr(page, self._name)(*args, **options)

    def __getattr__(self, attribute):
        if self._module is None:
            raise AttributeError(attribute)
        return getattr(self._module, attribute)

    def __repr__(self):
        return "<bx24.{0}: renamed bx24.page.{0}>".format(self._name)


from . import calls as _calls_module, rest as _rest_module, telephony as _telephony_module  # noqa: E402
from . import page  # noqa: E402

card = _Renamed("card")
rest = _Renamed("rest", _rest_module)
telephony = _Renamed("telephony", _telephony_module)
calls = _Renamed("calls", _calls_module)
sip_softphone = _Renamed("sip_softphone")
