"""uvicorn's HTTP protocol (httptools), bounded in what one connection can make us spend.

uvicorn accepts a request line and headers of any size and number (one client sending header
lines pushed the server past 1.6 GB), waits forever for headers that never end, and writes to
a client that never reads for as long as it stays connected. Here, per connection:

- the request line and headers must end within ``header_timeout`` seconds (slowloris);
- they are at most ``max_head_bytes`` in all, ``max_header_bytes`` each line, ``max_headers``
  lines (nginx's defaults are of that order): beyond, 431 (414 for the URL) and the connection
  is closed at once, before the app runs;
- a response the client does not read for ``send_timeout`` seconds (the write buffer stays
  full) ends the connection;
- answers made here, and uvicorn's own 400s, carry the security headers (they are uvicorn's
  default headers: ``uvicorn_config`` in :mod:`.serving`).

A body the app does not read is not left to trickle in: the app answers such a request with
``Connection: close`` (:mod:`.app`).
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request that is over a limit."""


class BoundedProtocol(HttpToolsProtocol):
    """See the module doc; the limits are class attributes, set by ``uvicorn_config``."""

    header_timeout = 10.0
    send_timeout = 60.0
    max_head_bytes = 64 * 1024
    max_header_bytes = 16 * 1024
    max_headers = 100

    _header_timer = None
    _send_timer = None
    _in_head = True
    _head_bytes = 0
    _header_count = 0
    _header_total = 0
    _refusal = None

    # -- the request head: deadline and size -------------------------------------------------

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._header_total = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_head_bytes:
            self._refuse(414, "the URL is too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        self._header_count += 1
        self._header_total += size
        if self._header_count > self.max_headers:
            self._refuse(431, f"more than {self.max_headers} header lines")
        if size > self.max_header_bytes:
            self._refuse(431, f"a header line over {self.max_header_bytes} bytes")
        if self._header_total + len(self.url) > self.max_head_bytes:
            self._refuse(431, f"request line and headers over {self.max_head_bytes} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._answer_and_close(*self._refusal)
                return
            self.logger.warning("Invalid HTTP request received.")
            self._answer_and_close(400, "invalid HTTP request")
            return
        except httptools.HttpParserUpgrade:  # no websockets here
            self._answer_and_close(400, "upgrades are not served")
            return
        if self._in_head and self._head_bytes > self.max_head_bytes:
            # A head that goes on and on (one endless line too): httptools would keep it all.
            self._answer_and_close(
                431, f"request line and headers over {self.max_head_bytes} bytes"
            )

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _Refused(message)

    def send_400_response(self, msg: str) -> None:  # uvicorn's own, e.g. from its parser
        self._answer_and_close(400, msg)

    def _answer_and_close(self, status: int, message: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        body = (message + "\n").encode("utf-8")
        head = [b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b"Error"))]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(head))
        self.transport.close()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    # -- the response: a client that does not read -------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.send_timeout, self._stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _stalled(self) -> None:
        self._send_timer = None
        self.transport.abort()  # what is buffered for this client is dropped with it

    def connection_lost(self, exc) -> None:
        self._disarm()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        super().connection_lost(exc)
