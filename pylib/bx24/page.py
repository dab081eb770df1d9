"""The page's objects: one card, one call session, its REST, its softphone, made over the
page's BX24 (by :mod:`bx24.browser`, which imports ``pyscript``; importing this module does not).

    import bx24

    softphone = bx24.page.sip_softphone("wss://pbx.example.com/ws", account=account)
    calls = bx24.page.calls(softphone, line_number="line1")

Each function takes the options of the class it makes and forwards them (the defaults are the
class's, written once). The modules of the same names hold the classes and constants:
``bx24.calls.Calls``, ``bx24.telephony.INCOMING``, ``bx24.rest.Rest``.
"""


def card(**options):
    """The page's :class:`~bx24.callcard.CallCard` (one per page; ``timeout``, ``timer_grace``,
    ``log``)."""
    from .browser import card as browser_card
    return browser_card(**options)


def rest(**options):
    """Bitrix24 REST, signed by the page's BX24: a :class:`~bx24.rest.Rest` (``timeout``,
    ``retries``, ``backoff``)."""
    from .browser import rest as browser_rest
    return browser_rest(**options)


def telephony(**options):
    """``telephony.externalcall.*`` over :func:`rest` (its options): a
    :class:`~bx24.telephony.Telephony`."""
    from .browser import telephony as browser_telephony
    return browser_telephony(**options)


def calls(softphone, **options):
    """The page's :class:`~bx24.calls.Calls` for ``softphone`` (one per page; its options:
    ``line_number``, ``user_id``, ``register``, ``finish``, ``skip_status``, ``log``...)."""
    from .browser import calls as browser_calls
    return browser_calls(softphone, **options)


def sip_softphone(server, uri=None, **options):
    """A SIP softphone over JsSIP in the page, for :func:`calls`:
    :class:`~bx24.sip.SipSoftphone`'s arguments (``password``, ``account``, ``display_name``,
    ``domain``, ``dtmf``, ``log``)."""
    from .browser import sip_softphone as browser_sip_softphone
    return browser_sip_softphone(server, uri, **options)


def app(**options):
    """The application page's :class:`~bx24.apppage.AppPage` (the install and main pages:
    :mod:`bx24.install`, :mod:`bx24.mainpage`); ``options`` go to its Rest."""
    from .browser import app_page as browser_app_page
    return browser_app_page(**options)
