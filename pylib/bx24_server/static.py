"""Sending one file: content type, validators and 304s, cache policy, the gzip variant.

Two cache policies: the versioned runtime files never change under their URL (``immutable``,
one year); everything else must be revalidated on each use (``no-cache``) so an edited
``main.py`` shows at once, and revalidation is cheap thanks to ETag/Last-Modified and 304.
"""

from __future__ import annotations

import os
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from .asgi import header
from .compression import GZIP, EncodedCache, FileVersion, accepts_encoding, worth_compressing
from .mediatypes import media_type

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
CHUNK = 256 * 1024  # large bodies go out in pieces, so 200 clients do not each buffer 10 MB


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires: ``W/"x"`` matches ``"x"``; ``*`` matches."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def not_modified_since(if_modified_since: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return int(mtime) <= since


class FileSender:
    """Answers GET/HEAD (and the frame's POST) for files already resolved to a safe real path."""

    def __init__(self, cache: EncodedCache):
        self.cache = cache

    async def send(
        self, send, path: Path, headers: dict[bytes, bytes], *, method: str, immutable: bool,
        persist: bool = False,
    ) -> None:
        """``immutable``: the one-year cache policy; ``persist``: keep the gzip copy on disk."""
        with open(path, "rb") as file:
            version = FileVersion(os.fstat(file.fileno()))
            mtype = media_type(path.name)
            negotiable = worth_compressing(path, version.size)
            encoded = None
            if negotiable and accepts_encoding(header(headers, b"accept-encoding")):
                try:
                    encoded = await self.cache.get(path, version, persist=persist)
                except OSError:
                    encoded = None  # vanished or unreadable meanwhile: identity still works
            etag = f'"{version.tag}-gz"' if encoded is not None else f'"{version.tag}"'

            common = [
                (b"etag", etag.encode()),
                (b"last-modified", formatdate(version.mtime, usegmt=True).encode()),
                (b"cache-control", IMMUTABLE if immutable else REVALIDATE),
            ]
            if negotiable:
                common.append((b"vary", b"Accept-Encoding"))

            if method in ("GET", "HEAD") and self._not_modified(headers, etag, version.mtime):
                await send({"type": "http.response.start", "status": 304, "headers": common})
                await send({"type": "http.response.body", "body": b""})
                return

            length = len(encoded) if encoded is not None else version.size
            start_headers = common + [
                (b"content-type", mtype.content_type.encode()),
                (b"content-length", str(length).encode()),
            ]
            if encoded is not None:
                start_headers.append((b"content-encoding", GZIP.encode()))
            await send({"type": "http.response.start", "status": 200, "headers": start_headers})
            if method == "HEAD":
                await send({"type": "http.response.body", "body": b""})
            elif encoded is not None:
                await _send_bytes(send, encoded)
            else:
                await _send_file(send, file, version.size)

    @staticmethod
    def _not_modified(headers: dict[bytes, bytes], etag: str, mtime: float) -> bool:
        if_none_match = headers.get(b"if-none-match")
        if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            return etag_matches(if_none_match.decode("latin-1"), etag)
        if_modified_since = headers.get(b"if-modified-since")
        if if_modified_since is not None:
            return not_modified_since(if_modified_since.decode("latin-1"), mtime)
        return False


async def _send_bytes(send, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        more = start + CHUNK < len(data)
        await send({"type": "http.response.body", "body": bytes(view[start:start + CHUNK]),
                    "more_body": more})
    if not data:
        await send({"type": "http.response.body", "body": b""})


async def _send_file(send, file, size: int) -> None:
    remaining = size
    if remaining == 0:
        await send({"type": "http.response.body", "body": b""})
    while remaining > 0:
        chunk = file.read(min(CHUNK, remaining))
        if not chunk:
            # Truncated while being sent: the promised length cannot be kept, so fail loudly
            # (uvicorn then drops the connection) rather than send a short body as complete.
            raise OSError(f"{file.name} shrank while being sent")
        remaining -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
