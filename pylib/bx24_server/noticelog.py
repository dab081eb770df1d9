"""Bounded JSON-lines logs of what clients post: Bitrix24's deactivation notices
(``/error-handler``) and the frames' own reports (``/frame-report``).

Anyone can post to these URLs (Bitrix24 sends no token), so everything a client can make the
server spend is bounded here:

- each client (by address) gets a token bucket (:class:`RateLimiter`); more is refused with 429;
- each notice is made safe and small (:func:`sanitize`): secret keys dropped, secret values in
  text masked, strings, lists, maps and nesting cut to a size, non-finite numbers and lone
  surrogates made valid JSON;
- the file is rotated past ``max_bytes`` and ``keep`` old files are kept (:class:`NoticeLog`);
- each line is one ``write`` of a complete line on an ``O_APPEND`` descriptor, under a file lock
  shared by the server's workers, and a torn last line (a full disk, a process killed mid-write)
  is cut off before the next line is written, so an acknowledged notice is never glued to one;
- what goes to stderr about them is throttled (:class:`Throttled`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

from .redaction import is_secret_key, redact_text

MAX_STRING = 4000
MAX_ITEMS = 100
MAX_DEPTH = 12
MAX_LINE = 32 * 1024
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
        out = [sanitize(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            out.append(f"…{len(value) - MAX_ITEMS} more items")
        return out
    return _text(repr(value), 200)


def loads(text: str):
    """JSON with ``NaN``/``Infinity`` kept as strings; ValueError for anything unreadable,
    nesting that would exhaust the stack included."""
    try:
        return json.loads(text, parse_constant=str)
    except RecursionError:
        raise ValueError("nested too deeply") from None


class RateLimiter:
    """A token bucket per client: ``burst`` at once, then ``per_minute``; at most
    ``max_clients`` remembered (the least recently seen are forgotten)."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._clients: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, since = self._clients.pop(client, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            allowed = tokens >= 1
            self._clients[client] = (tokens - 1 if allowed else tokens, now)
            while len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
            return allowed

    def retry_after(self) -> int:
        return max(1, math.ceil(1 / self.rate)) if self.rate > 0 else 60


class NoticeNotStored(OSError):
    """The line could not be written (the disk is full, the file unwritable...)."""


class NoticeLog:
    """Appends JSON lines to ``path``; past ``max_bytes`` the file becomes ``path.1`` (and
    ``path.1`` ``path.2``... up to ``keep``)."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = 10 * 2**20, keep: int = 5):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()

    def line_for(self, record: dict) -> bytes:
        line = json.dumps(record, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        if len(line) > MAX_LINE:
            line = json.dumps({"time": record.get("time"), "truncated": len(line),
                               "head": line[:MAX_STRING]}, ensure_ascii=True)
        return (line + "\n").encode("ascii")

    def append(self, record: dict) -> None:
        """Write ``record`` (already sanitized) as one line; :class:`NoticeNotStored` if not."""
        data = self.line_for(record)
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # workers share the file
                    fd = self._rotated(fd, len(data))
                    self._repair(fd)
                    written = os.write(fd, data)
                    if written != len(data):
                        os.ftruncate(fd, os.fstat(fd).st_size - written)
                        raise OSError(f"short write ({written} of {len(data)} bytes)")
                finally:
                    os.close(fd)
            except OSError as error:
                raise NoticeNotStored(f"cannot write {self.path}: {error}") from None

    def _rotated(self, fd: int, adding: int) -> int:
        size = os.fstat(fd).st_size
        if size == 0 or size + adding <= self.max_bytes:
            return fd
        for number in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self.keep > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            os.truncate(self.path, 0)
        fresh = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        fcntl.flock(fresh, fcntl.LOCK_EX)
        os.close(fd)
        return fresh

    @staticmethod
    def _repair(fd: int) -> None:
        """Cut a torn last line (no newline at its end): it was never acknowledged."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        start = max(0, size - MAX_LINE - 1)
        tail = os.pread(fd, size - start, start)
        cut = tail.rfind(b"\n")
        os.ftruncate(fd, start + cut + 1 if cut >= 0 else start)


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
