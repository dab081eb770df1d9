"""Content types by file extension: a fixed table, so answers do not depend on the host's
mimetypes database (browsers refuse module scripts and streaming wasm with the wrong type)."""

from __future__ import annotations

import os.path

_TEXT = {
    ".html": "text/html",
    ".htm": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".py": "text/x-python",
    ".toml": "application/toml",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".svg": "image/svg+xml",
}
_BINARY = {
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".snapshot": "application/octet-stream",  # Pyodide memory snapshots (runtime/snapshot/)
}
# Binary types that still shrink under gzip (.zip: the compression module keeps the encoded
# copy only when it pays, which it does not for deflated archives).
_COMPRESSIBLE_BINARY = {".wasm", ".whl", ".zip", ".snapshot"}

DEFAULT_TYPE = "application/octet-stream"


class MediaType:
    """The Content-Type header value of a file, and whether compressing it may pay."""

    __slots__ = ("content_type", "compressible")

    def __init__(self, content_type: str, compressible: bool):
        self.content_type = content_type
        self.compressible = compressible


def media_type(name: str) -> MediaType:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in _TEXT:
        return MediaType(f"{_TEXT[suffix]}; charset=utf-8", True)
    if suffix in _BINARY:
        return MediaType(_BINARY[suffix], suffix in _COMPRESSIBLE_BINARY)
    return MediaType(DEFAULT_TYPE, False)


def known() -> dict[str, tuple[str, bool]]:
    """Every suffix with a fixed type: ``{".js": ("text/javascript", True)}`` (True: text, sent
    with ``charset=utf-8``). The exported nginx config is written from this table."""
    table = {suffix: (mime, True) for suffix, mime in _TEXT.items()}
    table.update({suffix: (mime, False) for suffix, mime in _BINARY.items()})
    return table
