"""One line per request, with secrets masked (:mod:`.redaction`): uvicorn's own access log is off
because it would print query strings, and Bitrix24 puts tokens there.

Line format: ``<UTC time> <client> <method> <path>[?<query>] <status> <bytes sent>
<duration>ms``, secret values in the path and the query (``&`` or ``;`` separated, plain or
%-encoded) as ``***``. Request bodies are never written.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from .logfile import LogFile
from .noticelog import Throttled
from .redaction import printable, redact_path, redact_query


def format_line(
    *,
    client: str,
    method: str,
    raw_path: bytes,
    query: bytes,
    status: int,
    sent: int,
    duration: float,
) -> str:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    target = redact_path(raw_path) + ("?" + redact_query(query) if query else "")
    return (
        f"{now} {printable(client) or '-'} {printable(method)} {target} {status} {sent} "
        f"{duration * 1000:.1f}ms"
    )


class AccessLog:
    """Writes to a file (a :class:`~.logfile.LogFile`: rotated past ``max_bytes`` with ``keep``
    old files, reopened on SIGHUP), to stdout (``"-"``), or nowhere (``None``)."""

    def __init__(self, target: str | Path | None, max_bytes: int = 10 * 2**20, keep: int = 5):
        self.target = target
        self._file = LogFile(target, max_bytes, keep) if isinstance(target, Path) else None
        self._lock = threading.Lock()
        self._unwritten = Throttled(logging.getLogger("bx24_server"), 60.0)

    def open(self) -> None:
        """Check now that the file can be written (the server refuses to start otherwise)."""
        if self._file is not None:
            self._file.write(b"")

    def reopen(self) -> None:
        if self._file is not None:
            self._file.reopen()

    close = reopen

    def write(self, **fields) -> None:
        if self.target is None:
            return
        line = format_line(**fields) + "\n"
        if self._file is not None:
            try:
                self._file.write(line.encode("ascii"))
            except OSError as error:  # a full disk must not fail the request: say so, once a minute
                self._unwritten.warning(
                    "the access log %s cannot be written: %s", self.target, error
                )
            return
        with self._lock:
            sys.stdout.write(line)
            sys.stdout.flush()
