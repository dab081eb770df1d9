"""Exceptions of the bx24 library.

Bitrix24 answers every call-card command in one callback, errors included, as
``{result: 'error', errorCode: '...'}`` (wrapped in an array, or bare for
``missing field muted``). The library turns each known ``errorCode`` into its own
exception class so callers can ``except`` exactly what they handle, and keeps the
raw answer on every error so nothing Bitrix24 said is lost.
"""


from .log import shorten


class Bx24Error(Exception):
    """Base class of every error raised by the library."""


class PlacementError(Bx24Error):
    """The page cannot talk to a call card: BX24 is missing, never initialised,
    or the frame runs in a placement other than PAGE_BACKGROUND_WORKER."""


class CommandError(Bx24Error):
    """A command answered with an error. ``code`` is Bitrix24's ``errorCode``
    (None when it sent none), ``raw`` the whole decoded answer."""

    def __init__(self, command, code, raw, message=None):
        self.command = command
        self.code = code
        self.raw = raw
        if message is None:
            message = "{} failed: {}".format(
                command, code if code is not None else "error without a code")
        super().__init__(message)


class CardUndefinedError(CommandError):
    """``Call card is undefined``: no card yet (before ``initialized``), the card
    was closed, or the call was not raised by this application."""


class InvalidUiStateError(CommandError):
    """``Invalid ui state``: Bitrix24 refused the UI state."""


class MissingFieldError(CommandError):
    """``missing field <name>`` (the desktop application checks required fields).
    ``field`` is the name of the missing field."""

    def __init__(self, command, code, raw, field):
        self.field = field
        super().__init__(command, code, raw)


class UnexpectedResultError(CommandError):
    """The answer has a shape the library does not know (kept in ``raw``)."""


class CommandTimeoutError(CommandError):
    """No answer within ``timeout`` seconds. Bitrix24 silently ignores unknown
    commands and commands sent outside their placement, so this is how those
    mistakes show up."""

    def __init__(self, command, timeout):
        self.timeout = timeout
        super().__init__(
            command, None, None,
            "{} got no answer within {} s (Bitrix24 ignores commands outside "
            "PAGE_BACKGROUND_WORKER or without a call card)".format(command, timeout),
        )


CARD_UNDEFINED = "Call card is undefined"
INVALID_UI_STATE = "Invalid ui state"
MISSING_FIELD_PREFIX = "missing field "


def error_for(command, code, raw):
    """The exception for Bitrix24's ``errorCode`` ``code`` answered to ``command``."""
    if code == CARD_UNDEFINED:
        return CardUndefinedError(command, code, raw)
    if code == INVALID_UI_STATE:
        return InvalidUiStateError(command, code, raw)
    if isinstance(code, str) and code.startswith(MISSING_FIELD_PREFIX):
        return MissingFieldError(command, code, raw, code[len(MISSING_FIELD_PREFIX):])
    return CommandError(command, code, raw)


class MalformedPayloadError(Bx24Error):
    """An event arrived with a payload that does not match the spec. The card logs
    it (with the event name) and skips that event's handlers; dispatch goes on."""

    def __init__(self, event, payload, reason):
        self.event = event
        self.payload = payload
        self.reason = reason
        super().__init__("malformed {} payload ({}): {}".format(event, reason, shorten(payload)))


class RestError(Bx24Error):
    """A REST call failed. ``code`` is Bitrix24's ``error`` (``ACCESS_DENIED``,
    ``ERROR_METHOD_NOT_FOUND``, ``QUERY_LIMIT_EXCEEDED``..., ``NETWORK_ERROR`` when nothing
    answered, None when the answer had no code), ``description`` its ``error_description``,
    ``status`` the HTTP status (None without an answer), ``raw`` the whole decoded answer."""

    def __init__(self, method, code, description, raw, message=None, status=None):
        self.method = method
        self.code = code
        self.description = description
        self.raw = raw
        self.status = status
        if message is None:
            message = "{} failed: {}".format(method, code or "error without a code")
            if status is not None:
                message += " (HTTP {})".format(status)
            if description:
                message += ": {}".format(description)
        super().__init__(message)


class RestTimeoutError(RestError):
    """No answer from the REST method within ``timeout`` seconds."""

    def __init__(self, method, timeout):
        self.timeout = timeout
        super().__init__(method, None, None, None,
                         "{} did not answer within {} s".format(method, timeout))
