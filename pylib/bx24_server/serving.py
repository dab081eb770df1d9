"""Running the app under uvicorn (httptools parser, uvloop when installed) on a socket we bind
ourselves, so port 0 works and the real URL is known before anyone is told about it."""

from __future__ import annotations

import importlib.util
import socket
from typing import Callable

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import Config


def bind_socket(config: Config) -> socket.socket:
    """A bound (not yet listening) TCP socket for ``config.host``/``config.port``."""
    infos = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, socktype, proto, _, address = infos[0]
    sock = socket.socket(family, socktype, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(config: Config, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = config.host if config.host not in ("", "0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{config.scheme}://{shown}:{port}/"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's line and headers.

    uvicorn has none: a client that never finishes its headers would hold its connection (and a
    file descriptor) forever, and enough of them would lock everyone out (slowloris). Idle
    keep-alive connections are already closed by uvicorn's own keep-alive timeout."""

    header_timeout = 10.0
    _header_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

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


def uvicorn_config(config: Config, app) -> uvicorn.Config:
    """uvicorn settings for ``app``: no uvicorn access log (it would print tokens), no
    websockets."""
    uv = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=type("Protocol", (HeaderDeadlineProtocol,),
                  {"header_timeout": config.header_timeout}),
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        ws="none",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=3,
        ssl_certfile=str(config.certfile) if config.certfile else None,
        ssl_keyfile=str(config.keyfile) if config.keyfile else None,
    )
    uv.load()  # fails here, clearly, on a bad certificate or key
    return uv


class Server(uvicorn.Server):
    """uvicorn's server, calling ``on_ready`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None):
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()
