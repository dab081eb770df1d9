"""The bridge's replies, read in one place.

Every request to ``bridge.js`` resolves with a JSON envelope (it never rejects):
``{"status": "answer", "data": ...}`` (what BX24 answered), ``{"status": "no_answer"}``
(nothing within the wait), ``{"status": "unavailable", "message": ...}`` (no BX24 on the page,
or it threw). :func:`open_envelope` turns it into the data, ``NO_ANSWER``, or the error.
"""

import json

from .errors import Bx24Error, PlacementError

NO_ANSWER = object()  # the request got no answer within its wait


def open_envelope(what, envelope_json):
    """The ``data`` of an answer; :data:`NO_ANSWER` when there was none in time;
    :class:`~bx24.errors.PlacementError` without BX24; :class:`~bx24.errors.Bx24Error` for an
    envelope the bridge should never send (``what`` names the request in the message)."""
    envelope = json.loads(envelope_json)
    status = envelope.get("status") if isinstance(envelope, dict) else None
    if status == "answer":
        return envelope.get("data")
    if status == "no_answer":
        return NO_ANSWER
    if status == "unavailable":
        raise PlacementError(envelope.get("message") or "BX24 is not available on this page")
    raise Bx24Error("the bridge answered {} with {!r}".format(what, envelope))
