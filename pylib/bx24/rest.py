"""Bitrix24 REST from the frame: calls, pages, batches, and every way a call can fail.

Why not ``BX24.callMethod``: Bitrix24's JS library deletes a ``start`` you pass (page N is
reachable only through its result object's ``next``), and an HTTP 5xx, a body that is not
JSON or a network failure never reach its callback: it throws from inside its request handler,
so a caller can only time out, with no status. The frame therefore sends the request itself
(``bridge.js``: ``POST <portal>/rest/<method>.json``, the same form-encoded body the library
sends, signed with ``BX24.getAuth()``'s token, which never reaches Python or a log), and reads
every answer here:

- an answer with ``result`` is a :class:`RestResult`; ``await result.next()`` is the next page,
  ``rest.list(method)`` iterates over every item of every page;
- Bitrix24's error answers raise :class:`~bx24.errors.RestError` with its ``code``,
  ``description`` and the HTTP ``status``; so do an HTTP 5xx, a body that is not JSON (``code``
  None) and a network failure (``NETWORK_ERROR``), at once;
- ``QUERY_LIMIT_EXCEEDED`` (too many requests) is retried after 1, 2, 4 s (``retries``,
  ``backoff``); ``expired_token`` refreshes the token through the portal (``BX24.refreshAuth``)
  and retries once, as the library would.

Pure logic over the bridge (:mod:`bx24.browser` in the page, a fake in tests).
"""

import asyncio

from . import form
from .envelope import NO_ANSWER, open_envelope
from .errors import RestError, RestTimeoutError
from .log import shorten

MAX_BATCH = 50
QUERY_LIMIT_EXCEEDED = "QUERY_LIMIT_EXCEEDED"
EXPIRED_TOKEN = "expired_token"
NETWORK_ERROR = "NETWORK_ERROR"


class RestResult:
    """One successful answer: ``data`` is Bitrix24's ``result``; for lists, ``total`` counts
    every item and ``next_start`` is where the next page starts (None on the last page)."""

    def __init__(self, rest, method, params, data, total=None, next_start=None, status=200):
        self.rest = rest
        self.method = method
        self.params = params
        self.data = data
        self.total = total
        self.next_start = next_start
        self.status = status

    @property
    def more(self):
        return self.next_start is not None

    async def next(self):
        """The next page (the same call from ``next_start``), or None after the last."""
        if self.next_start is None:
            return None
        params = dict(self.params or {})
        params["start"] = self.next_start
        return await self.rest.call(self.method, params)

    def items(self):
        """The page's items: ``data`` when it is a list, else its one list value (some list
        methods answer ``{"tasks": [...]}``)."""
        if isinstance(self.data, list):
            return self.data
        if isinstance(self.data, dict):
            lists = [value for value in self.data.values() if isinstance(value, list)]
            if len(lists) == 1:
                return lists[0]
        raise TypeError("{} answered {}, not a list of items".format(
            self.method, shorten(self.data, 100)))

    def __repr__(self):
        return "RestResult({!r}, data={}, total={!r}, next_start={!r})".format(
            self.method, shorten(self.data, 100), self.total, self.next_start)


class _Items:
    """``async for item in rest.list(method, params)``: every item of every page."""

    def __init__(self, rest, method, params):
        self._rest = rest
        self._method = method
        self._params = params
        self._page = None
        self._items = []
        self._started = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self._items:
            if not self._started:
                self._started = True
                self._page = await self._rest.call(self._method, self._params)
            elif self._page is not None and self._page.more:
                self._page = await self._page.next()
            else:
                raise StopAsyncIteration
            self._items = list(self._page.items())
        return self._items.pop(0)


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Rest:
    """REST calls: ``await rest.call("user.current")``. ``timeout``: seconds one request may
    take; ``retries``/``backoff``: how often and after how long (doubling) a request answered
    ``QUERY_LIMIT_EXCEEDED`` is sent again; ``sleep``: how to wait (tests pass their own)."""

    def __init__(self, bridge, timeout=10.0, retries=3, backoff=1.0, sleep=None):
        self._bridge = bridge
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep or asyncio.sleep

    async def call(self, method, params=None):
        """The answer of ``method`` with ``params`` (a dict, sent form-encoded as Bitrix24's
        library sends it): a :class:`RestResult`, or :class:`~bx24.errors.RestError`."""
        if not isinstance(method, str) or not method:
            raise ValueError("a REST method name is a non-empty str, got {!r}".format(method))
        if params is None:
            params = {}
        body = form.encode(params)  # TypeError for anything but a dict, before sending
        answer = await self._send(method, body)
        result = answer.get("result")
        return RestResult(self, method, params, result, _number(answer.get("total")),
                          _number(answer.get("next")), answer.get("http", 200))

    def list(self, method, params=None):
        """Every item of a list method, page after page: ``async for lead in rest.list(...)``."""
        return _Items(self, method, params)

    async def batch(self, calls, halt=False):
        """Up to 50 calls in one request (``batch``). ``calls``: ``{key: (method, params)}``
        or a list of such pairs. Returns the same shape with, for each call, its
        :class:`RestResult` or the :class:`~bx24.errors.RestError` it ended with (not raised).
        Bitrix24 runs them in the order they are sent: a list's order (a dict's where the
        interpreter keeps one); with ``halt`` it stops at the first error, and the calls after
        it are ``RestError`` objects saying they did not run."""
        pairs = list(calls.items()) if isinstance(calls, dict) else list(enumerate(calls))
        if not 0 < len(pairs) <= MAX_BATCH:
            raise ValueError("a batch holds 1 to {} calls, not {}".format(MAX_BATCH, len(pairs)))
        keyed = []  # (key, method, params), each call read once, in the order sent
        body = ["halt=" + ("1" if halt else "0")]
        for key, call in pairs:
            method, params = call if isinstance(call, (list, tuple)) else (call, None)
            if not isinstance(method, str) or not method:
                raise ValueError("batch call {!r} has no method name".format(key))
            keyed.append((key, method, params or {}))
            # written here, pair by pair: a dict of commands has no order on MicroPython
            body.append("cmd[" + form.quote(str(key)) + "]=" +
                        form.quote(method + "?" + form.encode(params or {})))
        answer = await self._send("batch", "&".join(body))
        inner = answer.get("result") or {}

        def part(name):
            """One part of the answer by key: PHP sends a list for keys 0..n-1 (and for none),
            an object for any other keys."""
            value = inner.get(name) if isinstance(inner, dict) else None
            if isinstance(value, list):
                return {str(index): item for index, item in enumerate(value)}
            return value if isinstance(value, dict) else {}

        results, errors, totals, nexts = (part("result"), part("result_error"),
                                          part("result_total"), part("result_next"))
        out = {} if isinstance(calls, dict) else [None] * len(keyed)
        for key, method, params in keyed:
            name = str(key)
            if name in errors:
                error = errors[name] if isinstance(errors[name], dict) else {"error": errors[name]}
                out[key] = RestError(method, error.get("error"), error.get("error_description"),
                                     error, status=answer.get("http"))
            elif name in results:
                out[key] = RestResult(self, method, params, results[name],
                                      _number(totals.get(name)), _number(nexts.get(name)),
                                      answer.get("http", 200))
            else:
                out[key] = RestError(method, None, "not run: the batch halted before it", None,
                                     status=answer.get("http"))
        return out

    def beacon(self, method, params=None):
        """Send ``method`` now and forget it: for a page that is closing (its answer would never
        be read; the browser still delivers the request)."""
        self._bridge.beacon(method, form.encode(params or {}))

    # -- one request, its retries, its answer ----------------------------------------------

    async def _send(self, method, body):
        """The JSON answer of one call (its HTTP status under ``"http"``); retries as the module
        doc says; RestError / RestTimeoutError otherwise."""
        refreshed = False
        attempt = 0
        while True:
            data = open_envelope(method, await self._bridge.rest(
                method, body, int(self.timeout * 1000)))
            if data is NO_ANSWER:
                raise RestTimeoutError(method, self.timeout)
            if "network" in data:
                raise RestError(method, NETWORK_ERROR, data.get("network"), data, status=None)
            status = data.get("http")
            answer = data.get("json")
            if answer is None and data.get("text") == "" and isinstance(status, int) and \
                    200 <= status < 300:
                answer = {}  # an empty 2xx: success without data, as the real library reads it
            if not isinstance(answer, dict):
                raise RestError(method, None, "the answer is not JSON: {}".format(
                    shorten(data.get("text") or "", 200)), data, status=status)
            code = answer.get("error")
            if code == EXPIRED_TOKEN and not refreshed:
                refreshed = True
                if open_envelope("BX24.refreshAuth", await self._bridge.refresh_auth(
                        int(self.timeout * 1000))) is NO_ANSWER:
                    raise RestTimeoutError(method, self.timeout)
                continue
            if code == QUERY_LIMIT_EXCEEDED and attempt < self.retries:
                await self._sleep(self.backoff * (2 ** attempt))
                attempt += 1
                continue
            if code or (isinstance(status, int) and status >= 400):
                raise RestError(method, code, answer.get("error_description"), answer,
                                status=status)
            answer["http"] = status
            return answer

