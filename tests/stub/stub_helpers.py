"""Python-side wrappers around the harness (harness.js) for the stub conformance tests."""

UI_STATES = [
    "incoming",
    "transferIncoming",
    "outgoing",
    "connectingIncoming",
    "connectingOutgoing",
    "connected",
    "transferring",
    "transferFailed",
    "transferConnected",
    "error",
    "moneyError",
    "redial",
]
CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]


def call(page, command, params=None, omit_params=False):
    """The command's answer, failing if it came synchronously (Bitrix24 answers over postMessage)."""
    answer = page.evaluate(
        "([c, p, o]) => T.call(c, p, o)",
        [command, params if params is not None else {}, omit_params],
    )
    assert answer["sync"] is False, f"{command} answered synchronously"
    return answer["result"]


def probe(page, command, params=None):
    """{answered, result} of ``command``, known once a later command has been answered."""
    return page.evaluate("([c, p]) => T.callProbe(c, p)", [command, params or {}])


def raise_call(page, overrides=None, options=None):
    return page.evaluate("([o, x]) => BX24Stub.raiseCall(o, x)", [overrides or {}, options or {}])


def card(page):
    return page.evaluate("BX24Stub.card()")


def desktop(page):
    page.evaluate("BX24Stub.configure({mode: 'desktop'})")


def events(page):
    return page.evaluate("BX24Stub.events()")


def click(page, button, *arg):
    """Click a card button; returns the stub's event record."""
    return page.evaluate("([b, a]) => BX24Stub.click(b, ...a)", [button, list(arg)])


def received(page, event, count=1):
    """Payloads the frame's handler for ``event`` got, once it got at least ``count``."""
    return page.evaluate("([e, n]) => T.waitEvents(e, n)", [event, count])
