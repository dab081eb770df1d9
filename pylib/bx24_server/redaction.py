"""Keeping secrets out of everything the server writes down, and out of what frames report.

Bitrix24 sends ``AUTH_ID``, ``REFRESH_ID`` and ``APPLICATION_TOKEN`` with every frame load, OAuth
data travels as ``auth``/``access_token``/``refresh_token`` (also nested: ``auth[...]``), and a
softphone's errors can quote SIP credentials. What is secret:

- a **key** that names a secret, in any letter case and spelling (``AUTH_ID``, ``authId``,
  ``auth-id``, ``auth%5Fid``), bracketed or indexed (``auth[access_token]``, ``AUTH_ID[]``,
  ``AUTH_ID[0]``): the Bitrix24 and OAuth names, ``client_secret``, ``api_key``, and anything
  ending in ``password``/``passwd``/``passphrase``/``secret``/``token`` (``sip_password``,
  ``sipPassword``), ``pwd``, ``pass``;
- in free text, besides ``key=value``, ``key: value``, ``"key": "value"``, ``'key': 'value'``
  (plain or %-encoded, after a %-encoded byte too: ``/x%3FAUTH_ID=v``): HTTP ``Basic``/``Bearer``
  credentials, a SIP Digest ``response``, the password of a URL (``wss://user:PW@host``) or of a
  SIP URI (``sip:101:PW@host``), the code of a Bitrix24 webhook (``/rest/1/<code>/``).

:data:`PATTERNS` is the one definition: regular expressions in the syntax Python and JavaScript
share (each with two groups: what is kept, then the secret), compiled here and, from the page's
boot config, by the frame (``boot.js`` redacts its reports before sending them). Three shapes of
input: structured data (:func:`drop_secrets`, :func:`is_secret_key`), query strings
(:func:`redact_query`), free text such as a path, an error message or a traceback
(:func:`redact_text`).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, unquote_to_bytes

MASK = "***"

_SEP = r"(?:[_.-]|%5f)?"  # between the words of a name: auth_id, auth-id, authId, auth%5Fid
_WORDS = (
    "auth",
    "auth id",
    "refresh id",
    "application token",
    "access token",
    "refresh token",
    "client secret",
    "api key",
    "pwd",
    "pass",
)
# A secret name: one of _WORDS, or anything ending in one of these (sip_password, x-api-token).
NAMES = (
    "(?:"
    + "|".join(sorted((w.replace(" ", _SEP) for w in _WORDS), key=len, reverse=True))
    + r"|(?:[a-z0-9]{1,32}(?:[_.-]|%5f)){0,4}[a-z0-9]{0,32}"
    r"(?:password|passwd|passphrase|secret|token))"
)

# The key: its name not glued to a letter or digit before it (a %-encoded byte is fine), then
# its brackets ([], [0], [access_token], %5B...%5D), then its closing quote or bracket, then the
# separator, all possibly %-encoded.
_KEY = (
    r"(?:(?<![a-z0-9])|(?<=%[0-9a-f]{2}))"
    + NAMES
    + r"(?:\[[^\]\s]{0,64}\]|%5b(?:(?!%5d)[^\s&]){0,64}%5d)*"
    r"(?:\\?[\"']|%22|%27|\]|%5d)*(?:\s|%20|\+)*(?:=|%3d|:|%3a)(?:\s|%20|\+)*"
)

PATTERNS = (
    # Authorization: Basic <base64> / Bearer <token> / <a credential without a scheme>
    r"(\b(?:basic|bearer)\s+)([a-z0-9._~+/=-]{6,})",
    r"(\bauthorization\s*[:=]\s*)(?!(?:basic|bearer|digest)\b)([^\s,;]+)",
    # key: "value" / key: 'value' / key: \"value\" (JSON inside a string) / %22value%22
    "(" + _KEY + r'")((?:[^"\\]|\\.)*)',
    "(" + _KEY + r"')((?:[^'\\]|\\.)*)",
    "(" + _KEY + r'\\")((?:[^\\]|\\(?!"))*)',
    "(" + _KEY + r"%22)((?:(?!%22)[^\s&])*)",
    # key=value, key: value (up to a space, a separator, a quote or a bracket)
    "(" + _KEY + r")([^\s\"'&;,<>(){}\[\]\\]+)",
    # SIP Digest: response="<hash>"
    r"(\bresponse\s*=\s*\\?\"?)([0-9a-f]{8,})",
    # the password of a URL: scheme://user:PASSWORD@host
    r"((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^\s/?#@:]*:)([^\s/?#@]+)(?=@)",
    # the password of a SIP URI: sip:101:PASSWORD@host
    r"(\bsips?:[^\s:@;/]+:)([^\s@;/]+)(?=@)",
    # the code of a Bitrix24 webhook: /rest/<user id>/<code>/
    r"(/rest/[0-9]+/)([a-z0-9]{6,})(?![a-z0-9])",
)
_COMPILED = tuple(re.compile(pattern, re.IGNORECASE) for pattern in PATTERNS)
_NAME = re.compile(NAMES, re.IGNORECASE)
_KEY_PARTS = re.compile(r"[\[\]]+")
_QUERY_SEPARATORS = re.compile(rb"([&;])")


def is_secret_key(key: str) -> bool:
    """Whether a key of structured data (or a form field) names a secret, in any of its
    bracketed parts (``auth[access_token]``, ``AUTH_ID[0]``)."""
    return any(
        _NAME.fullmatch(unquote_plus(part.strip()))
        for part in _KEY_PARTS.split(key)
        if part.strip()
    )


def redact_text(text: str) -> str:
    """``text`` with every secret of :data:`PATTERNS` masked (``AUTH_ID=x`` → ``AUTH_ID=***``,
    ``"password": "x"``, ``sip:101:***@pbx``, ``Bearer ***``...)."""
    for pattern in _COMPILED:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def printable(raw: bytes | str) -> str:
    """ASCII with no spaces or control characters: anything else %-escaped, so one request is
    always one log line that nobody can forge."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def _decoded(raw: bytes) -> str:
    """A URL part as text, %-escapes decoded: a secret is masked whatever its encoding."""
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def redact_path(raw_path: bytes) -> str:
    """A request's path for a log line: decoded, secrets masked (a token can sit in the path
    itself: ``/AUTH_ID=...``, ``/x%3FAUTH_ID=...``), then :func:`printable`."""
    return printable(redact_text(_decoded(raw_path)))


def redact_query(raw_query: bytes) -> str:
    """The query string for a log line: the value of every secret key replaced by ``***``,
    then decoded and masked as free text, then :func:`printable`."""
    out = []
    for item in _QUERY_SEPARATORS.split(raw_query):
        key, eq, _value = item.partition(b"=")
        if eq and is_secret_key(unquote_plus(key.decode("latin-1"))):
            item = key + b"=" + MASK.encode()
        out.append(item)
    return printable(redact_text(_decoded(b"".join(out).replace(b"+", b" "))))


def drop_secrets(value):
    """A copy of a JSON-like value without the secret keys of any mapping in it."""
    if isinstance(value, dict):
        return {k: drop_secrets(v) for k, v in value.items() if not is_secret_key(str(k))}
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    return value
