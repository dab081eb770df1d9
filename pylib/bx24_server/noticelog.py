"""Bounded JSON-lines logs of what clients post: Bitrix24's deactivation notices
(``/error-handler``) and the frames' own reports (``/frame-report``).

Anyone can post to these URLs (Bitrix24 sends no token), so everything a client can make the
server spend is bounded:

- each client (by address) gets a token bucket shared by the server's workers
  (:class:`~.ratelimit.RateLimiter`); more is refused with 429;
- each notice is made safe and small (:func:`sanitize`): secret keys dropped, secret values in
  text masked (:mod:`.redaction`), strings, lists, maps and nesting cut to a size, non-finite
  numbers and lone surrogates made valid JSON;
- each is one whole JSON line in a rotated file (:class:`NoticeLog` over
  :class:`~.logfile.LogFile`: never torn, never glued, never lost to a rotation);
- what goes to stderr about them is throttled (:class:`Throttled`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from pathlib import Path

from .logfile import MAX_LINE, LogFile
from .redaction import is_secret_key, redact_text

MAX_STRING = 4000
MAX_ITEMS = 100
MAX_DEPTH = 12
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: str, limit: int = MAX_STRING) -> str:
    # A lone surrogate (from JSON's \ud800 escapes) cannot be encoded: replace it.
    value = _SURROGATE.sub("\ufffd", value)
    value = redact_text(value)
    if len(value) > limit:
        value = value[:limit] + f"…(+{len(value) - limit} chars)"
    return value


def sanitize(value, depth: int = 0):
    """A JSON-safe, bounded copy of ``value`` without secrets (see the module doc)."""
    if depth > MAX_DEPTH:
        return "…(nested too deep)"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else _text(str(value), 40)
    if isinstance(value, float):  # NaN and infinities are no JSON: their JS names as text
        return value if math.isfinite(value) else json.dumps(value)
    if isinstance(value, dict):
        out = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more keys"
                break
            key = _text(str(key), 200)
            if not is_secret_key(key):
                out[key] = sanitize(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        items = [sanitize(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"…{len(value) - MAX_ITEMS} more items")
        return items
    return _text(repr(value), 200)


def loads(text: str):
    """JSON with ``NaN``/``Infinity`` kept as strings; ValueError for anything unreadable,
    nesting that would exhaust the stack included."""
    try:
        return json.loads(text, parse_constant=str)
    except RecursionError:
        raise ValueError("nested too deeply") from None


class NoticeNotStored(OSError):
    """The line could not be written (the disk is full, the file unwritable...)."""


class NoticeLog:
    """JSON lines in a :class:`~.logfile.LogFile` at ``path`` (rotated past ``max_bytes``,
    ``keep`` old files)."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = 10 * 2**20, keep: int = 5):
        self.file = LogFile(path, max_bytes, keep)

    @property
    def path(self) -> Path:
        return self.file.path

    def line_for(self, record: dict) -> bytes:
        line = json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        if len(line) > MAX_LINE:
            line = json.dumps(
                {"time": record.get("time"), "truncated": len(line), "head": line[:MAX_STRING]},
                ensure_ascii=True,
            )
        return (line + "\n").encode("ascii")

    def append(self, record: dict) -> None:
        """Write ``record`` (already sanitized) as one line; :class:`NoticeNotStored` if not."""
        try:
            self.file.write(self.line_for(record))
        except OSError as error:
            raise NoticeNotStored(f"cannot write {self.path}: {error}") from None

    def reopen(self) -> None:
        self.file.reopen()


class Throttled:
    """At most one message per ``seconds`` to ``logger``; the ones dropped are counted into the
    next (a flood of notices is not a flood of stderr lines)."""

    def __init__(self, logger: logging.Logger, seconds: float = 10.0):
        self.logger = logger
        self.seconds = seconds
        self._last = -math.inf
        self._dropped = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.seconds:
                self._dropped += 1
                return
            dropped, self._dropped, self._last = self._dropped, 0, now
        if dropped:
            message += f" ({dropped} similar message(s) not shown)"
        self.logger.warning(message, *args)
