"""Sending one file (or the generated page): content type, validators and 304s, the cache
policy its mount gives, the gzip variant.

ETags come from the content (a sha256 prefix, computed once per file version), so two hosts
serving the same bytes give the same ETag and a revalidation against either is a 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict
from typing import Any
from email.utils import formatdate, parsedate_to_datetime

from .asgi import HttpError, header
from .compression import (
    BROTLI,
    GZIP,
    WORTH_RATIO,
    EncodedCache,
    FileVersion,
    accepts_encoding,
    gzip_bytes,
    worth_compressing,
)
from .mediatypes import media_type

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


def content_tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def _file_tag(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:20]


class _Description:
    """What the headers say about one version of one file, worked out once per version."""

    __slots__ = ("etag", "etag_gz", "etag_br", "last_modified", "content_type", "negotiable")

    def __init__(self, path: str, version: FileVersion, tag: str):
        mtype = media_type(path)
        self.etag = f'"{tag}"'
        self.etag_gz = f'"{tag}-gz"'
        self.etag_br = f'"{tag}-br"'
        self.last_modified = formatdate(version.mtime, usegmt=True).encode()
        self.content_type = mtype.content_type.encode()
        self.negotiable = worth_compressing(path, version.size)


class FileSender:
    """Answers GET/HEAD (and the frame's POST) for files already resolved to a safe real path."""

    MAX_DESCRIPTIONS = 4096
    HASH_IN_THREAD = 256 * 1024  # larger files are hashed off the event loop

    def __init__(self, cache: EncodedCache):
        self.cache = cache
        self._descriptions: dict[tuple[str, str], _Description] = {}
        self._pages: OrderedDict[str, bytes | None] = OrderedDict()  # tag -> gzip of a page

    async def _describe(self, path: str, version: FileVersion) -> _Description:
        key = (path, version.tag)
        description = self._descriptions.get(key)
        if description is None:
            if version.size > self.HASH_IN_THREAD:
                tag = await asyncio.to_thread(_file_tag, path)
            else:
                tag = _file_tag(path)
            if len(self._descriptions) >= self.MAX_DESCRIPTIONS:
                self._descriptions.clear()
            description = self._descriptions[key] = _Description(path, version, tag)
        return description

    async def send_page(
        self,
        send,
        data: bytes,
        headers: dict[bytes, bytes],
        *,
        method: str,
        cache_control: bytes,
        content_type: bytes,
    ) -> None:
        """A generated document (the frame's page): content ETag, 304, gzip made once per
        version (the last few versions kept)."""
        tag = content_tag(data)
        if tag not in self._pages:
            encoded = gzip_bytes(data) if len(data) >= 1024 else None
            pays = encoded and len(encoded) <= len(data) * WORTH_RATIO
            self._pages[tag] = encoded if pays else None
            while len(self._pages) > 8:
                self._pages.popitem(last=False)
        accepted = accepts_encoding(header(headers, b"accept-encoding"))
        encoded = self._pages[tag] if accepted else None
        await _answer(
            send,
            headers,
            method=method,
            etag=f'"{tag}-gz"' if encoded is not None else f'"{tag}"',
            cache_control=cache_control,
            vary=True,
            content_type=content_type,
            encoding=GZIP if encoded is not None else None,
            length=len(encoded if encoded is not None else data),
            body=lambda: _send_bytes(send, encoded if encoded is not None else data),
        )

    async def send(
        self,
        send,
        path: str,
        headers: dict[bytes, bytes],
        *,
        method: str,
        cache_control: bytes,
        persist: bool = False,
    ) -> None:
        """``cache_control``: the mount's policy; ``persist``: keep the gzip copy on disk."""
        try:
            file = open(path, "rb")
        except OSError:  # removed or made unreadable since it was resolved
            raise HttpError(404, "not found") from None
        with file:
            version = FileVersion(os.fstat(file.fileno()))
            about = await self._describe(path, version)
            encoded = brotli = None
            accept = header(headers, b"accept-encoding")
            if about.negotiable and persist and accepts_encoding(accept, BROTLI):
                copy = self.cache.brotli_copy(path, version)
                try:
                    brotli = open(copy, "rb") if copy is not None else None
                except OSError:  # removed since it was found: gzip or identity will do
                    brotli = None
            if brotli is None and about.negotiable and accepts_encoding(accept):
                try:
                    encoded = await self.cache.get(path, version, persist=persist)
                except OSError:
                    encoded = None  # vanished or unreadable meanwhile: identity still works
            common: dict[str, Any] = dict(
                method=method,
                cache_control=cache_control,
                vary=about.negotiable,
                content_type=about.content_type,
                last_modified=about.last_modified,
                mtime=version.mtime,
            )
            if brotli is not None:  # the set-up's brotli copy, streamed from disk
                with brotli:
                    size = os.fstat(brotli.fileno()).st_size
                    await _answer(
                        send,
                        headers,
                        etag=about.etag_br,
                        encoding=BROTLI,
                        length=size,
                        body=lambda: _send_file(send, brotli, size),
                        **common,
                    )
            elif encoded is not None:
                await _answer(
                    send,
                    headers,
                    etag=about.etag_gz,
                    encoding=GZIP,
                    length=len(encoded),
                    body=lambda: _send_bytes(send, encoded),
                    **common,
                )
            else:
                await _answer(
                    send,
                    headers,
                    etag=about.etag,
                    encoding=None,
                    length=version.size,
                    body=lambda: _send_file(send, file, version.size),
                    **common,
                )


def _not_modified(headers: dict[bytes, bytes], etag: str, mtime: float | None) -> bool:
    if_none_match = headers.get(b"if-none-match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
        return etag_matches(if_none_match.decode("latin-1"), etag)
    if_modified_since = headers.get(b"if-modified-since")
    if if_modified_since is not None and mtime is not None:
        return not_modified_since(if_modified_since.decode("latin-1"), mtime)
    return False


async def _answer(
    send,
    request_headers: dict[bytes, bytes],
    *,
    method: str,
    etag: str,
    cache_control: bytes,
    vary: bool,
    content_type: bytes,
    encoding: str | None,
    length: int,
    body,
    last_modified: bytes | None = None,
    mtime: float | None = None,
) -> None:
    """The one way every file and page is answered: 304 when the client's copy is this one
    (GET, HEAD), else 200 with the headers of this variant, and ``body()`` sending it (none
    for HEAD)."""
    common = [(b"etag", etag.encode())]
    if last_modified is not None:
        common.append((b"last-modified", last_modified))
    common.append((b"cache-control", cache_control))
    if vary:
        common.append((b"vary", b"Accept-Encoding"))
    if method in ("GET", "HEAD") and _not_modified(request_headers, etag, mtime):
        await send({"type": "http.response.start", "status": 304, "headers": common})
        await send({"type": "http.response.body", "body": b""})
        return
    start = common + [(b"content-type", content_type), (b"content-length", str(length).encode())]
    if encoding is not None:
        start.append((b"content-encoding", encoding.encode()))
    await send({"type": "http.response.start", "status": 200, "headers": start})
    if method == "HEAD":
        await send({"type": "http.response.body", "body": b""})
    else:
        await body()


async def _send_bytes(send, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        more = start + CHUNK < len(data)
        await send(
            {
                "type": "http.response.body",
                "body": bytes(view[start : start + CHUNK]),
                "more_body": more,
            }
        )
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
