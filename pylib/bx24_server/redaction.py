"""Keeping Bitrix24 secrets out of everything the server writes down.

Bitrix24 sends ``AUTH_ID``, ``REFRESH_ID`` and ``APPLICATION_TOKEN`` with every frame load, and
OAuth data travels as ``auth``/``access_token``/``refresh_token``, also nested as ``auth[...]``.
A key is secret when any of its bracketed parts names one of these, in any letter case.

Three shapes are handled: structured data (:func:`drop_secrets` drops secret keys), query
strings (:func:`redact_query` masks their values, ``&`` or ``;`` separated) and free text such
as a path, an error message or a traceback (:func:`redact_text` masks any ``name=value``,
``name: value`` or ``"name": "value"``, plain or %-encoded, after a secret name).
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


_NAME = "|".join(sorted((re.escape(name).replace("_", "(?:_|%5f)") for name in SECRET_NAMES),
                        key=len, reverse=True))
# name, then what may sit between it and the value: closing brackets, quotes, = or :, spaces,
# all possibly %-encoded; then the value, up to a separator.
_VALUE_CHAR = r"[^\s&;,\"'<>()\[\]{}/?#%\\]"
_TEXT_SECRET = re.compile(
    r"(?i)(?:(?<![a-z0-9])|(?<=%5b))(" + _NAME + r")"
    r"((?:\]|%5d|\\?\"|%22|')*\s*(?:=|%3d|:|%3a)\s*(?:\\?\"|%22|')?)"
    r"(" + _VALUE_CHAR + r"+(?:%(?!26|3b|2c|22|27)[0-9a-f]{2}" + _VALUE_CHAR + r"*)*)")


def redact_text(text: str) -> str:
    """``text`` with the value after every secret name masked (``AUTH_ID=x`` → ``AUTH_ID=***``,
    ``"access_token": "x"``, ``auth%5Baccess_token%5D%3Dx``, ``/refresh_id:x/``...)."""
    return _TEXT_SECRET.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def drop_secrets(value):
    """A copy of a JSON-like value without the secret keys of any mapping in it."""
    if isinstance(value, dict):
        return {k: drop_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    return value
