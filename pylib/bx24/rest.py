"""Bitrix24 REST from the frame, through ``BX24.callMethod``.

A worker raises and ends its calls with REST (``telephony.externalcall.register`` opens the card,
``telephony.externalcall.finish`` ends it). BX24 signs each request with the operator's own token,
so the frame's Python never holds one. Pure logic over the bridge, like :mod:`bx24.callcard`.
"""

import json

from .errors import PlacementError, RestError, RestTimeoutError


class RestResult:
    """One successful answer. ``data`` is Bitrix24's ``result``; for lists, ``total`` is the
    count of all items and ``more``/``next`` say where the next page starts (pass
    ``{"start": result.next}`` to the same call)."""

    def __init__(self, method, data, total=None, more=False, next=None):
        self.method = method
        self.data = data
        self.total = total
        self.more = more
        self.next = next

    def __repr__(self):
        return "RestResult({!r}, data={!r}, total={!r}, next={!r})".format(
            self.method, self.data, self.total, self.next)


class Rest:
    """REST calls; ``await rest.call("telephony.externalcall.register", {...})``.

    Raises :class:`~bx24.errors.RestError` on Bitrix24's error answers and
    :class:`~bx24.errors.RestTimeoutError` when nothing answers within ``timeout`` seconds.
    """

    def __init__(self, bridge, timeout=10.0):
        self._bridge = bridge
        self.timeout = timeout

    async def call(self, method, params=None):
        if not isinstance(method, str) or not method:
            raise ValueError("a REST method name is a non-empty str, got {!r}".format(method))
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise TypeError("REST params are a dict, got {}".format(type(params).__name__))
        envelope = json.loads(await self._bridge.call_method(
            method, json.dumps(params), int(self.timeout * 1000)))
        status = envelope.get("status")
        if status == "no_answer":
            raise RestTimeoutError(method, self.timeout)
        if status == "unavailable":
            raise PlacementError(envelope.get("message") or "BX24 is not available on this page")
        answer = envelope.get("data")
        if status != "answer" or not isinstance(answer, dict):
            raise RestError(method, None, None, envelope,
                            "{} answered with an unknown shape: {!r}".format(method, envelope))
        if answer.get("error"):
            raise RestError(method, answer["error"], answer.get("error_description"), answer)
        more = bool(answer.get("more"))
        return RestResult(method, answer.get("result"), answer.get("total"), more,
                          answer.get("next") if more else None)
