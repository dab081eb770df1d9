"""The few ASGI helpers the routes share: request headers, bounded body reading, plain replies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

TEXT = b"text/plain; charset=utf-8"


class HttpError(Exception):
    """Ends a request with ``status`` and a short plain-text explanation."""

    def __init__(self, status: int, message: str, headers: Sequence[tuple[bytes, bytes]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


def request_headers(scope) -> dict[bytes, bytes]:
    """Lower-case names to values; a repeated header is joined with ``,`` as HTTP allows."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        name = name.lower()
        headers[name] = headers[name] + b"," + value if name in headers else value
    return headers


def header(scope_headers: dict[bytes, bytes], name: bytes) -> str:
    return scope_headers.get(name, b"").decode("latin-1")


async def read_body(receive, headers: dict[bytes, bytes], limit: int, timeout: float) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes: a declared Content-Length at
    once, a chunked body as soon as it grows past it; a body that trickles in for longer than
    ``timeout`` seconds is refused too, so it cannot hold its request open."""
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if length > limit:
            raise _too_large(limit)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                body += message.get("body", b"")
                if len(body) > limit:
                    raise _too_large(limit)
                if not message.get("more_body", False):
                    return bytes(body)
    except TimeoutError:
        raise HttpError(
            408, f"the request body took over {timeout:g} s", [(b"connection", b"close")]
        ) from None


def _too_large(limit: int) -> HttpError:
    # Close the connection: the rest of an oversized body is not worth reading.
    return HttpError(413, f"request body over the {limit} byte limit", [(b"connection", b"close")])


class ClientGone(Exception):
    """The client disconnected before its request was complete: nothing to answer."""


async def send_response(
    send,
    status: int,
    body: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    content_type: bytes | None = TEXT,
    head: bool = False,
) -> None:
    """A whole response in one go (``head``: headers only, with the length of the body)."""
    out = list(headers)
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})
