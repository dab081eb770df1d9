"""Keeping Bitrix24 secrets out of everything the server writes down.

Bitrix24 sends ``AUTH_ID``, ``REFRESH_ID`` and ``APPLICATION_TOKEN`` with every frame load, and
OAuth data travels as ``auth``/``access_token``/``refresh_token``, also nested as ``auth[...]``.
A key is secret when any of its bracketed parts names one of these, in any letter case.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

SECRET_NAMES = frozenset(
    {
        "auth_id",
        "refresh_id",
        "application_token",
        "auth",
        "access_token",
        "refresh_token",
        "client_secret",
    }
)
MASK = "***"
_KEY_PARTS = re.compile(r"[\[\]]+")
_QUERY_SEPARATORS = re.compile(rb"([&;])")


def is_secret_key(key: str) -> bool:
    return any(part.strip().lower() in SECRET_NAMES for part in _KEY_PARTS.split(key))


def printable(raw: bytes | str) -> str:
    """ASCII with no spaces or control characters: anything else %-escaped, so one request is
    always one log line that nobody can forge."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def redact_query(raw_query: bytes) -> str:
    """The query string with the value of every secret key replaced by ``***``."""
    out = []
    for item in _QUERY_SEPARATORS.split(raw_query):
        key, eq, _value = item.partition(b"=")
        if eq and is_secret_key(unquote_plus(key.decode("latin-1"))):
            item = key + b"=" + MASK.encode()
        out.append(item)
    return printable(b"".join(out))


def drop_secrets(value):
    """A copy of a JSON-like value without the secret keys of any mapping in it."""
    if isinstance(value, dict):
        return {k: drop_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    return value
