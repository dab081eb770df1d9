"""One line per request, with secrets masked: uvicorn's own access log is off because it would
print query strings, and Bitrix24 puts tokens there.

Line format: ``<UTC time> <client> <method> <path>[?<query>] <status> <bytes sent>
<duration>ms``, secret values in the path and the query (``&`` or ``;`` separated, plain or
%-encoded) as ``***``. Request bodies are never written.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

from .redaction import printable, redact_query, redact_text


def format_line(
    *, client: str, method: str, raw_path: bytes, query: bytes, status: int, sent: int,
    duration: float,
) -> str:
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # A token can sit in the path itself (/AUTH_ID=...): the path is redacted like free text.
    path = printable(redact_text(raw_path.decode("latin-1")).encode("latin-1"))
    target = path + ("?" + redact_query(query) if query else "")
    return (
        f"{now} {printable(client) or '-'} {printable(method)} {target} {status} {sent} "
        f"{duration * 1000:.1f}ms"
    )


class AccessLog:
    """Writes to a file (appending, parents created), to stdout (``"-"``), or nowhere (``None``)."""

    def __init__(self, target: str | Path | None):
        self.target = target
        self._file = None
        self._lock = threading.Lock()

    def open(self) -> None:
        if isinstance(self.target, Path) and self._file is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.target, "a", encoding="ascii", buffering=1)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, **fields) -> None:
        if self.target is None:
            return
        line = format_line(**fields) + "\n"
        with self._lock:
            if self.target == "-":
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                self.open()
                self._file.write(line)
