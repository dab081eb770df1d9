"""Running the app under uvicorn (httptools parser, uvloop when installed) on a socket we bind
ourselves, so port 0 works and the real URL is known before anyone is told about it."""

from __future__ import annotations

import importlib.util
import signal
import socket
from typing import Callable

import uvicorn
from .config import Config
from .protocol import BoundedProtocol


def bind_socket(config: Config) -> socket.socket:
    """A bound (not yet listening) TCP socket for ``config.host``/``config.port``."""
    infos = socket.getaddrinfo(
        config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
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


def uvicorn_config(config: Config, app) -> uvicorn.Config:
    """uvicorn settings for ``app``: our bounded protocol, the security headers on every answer
    (uvicorn's default headers: its own 400s carry them too), no uvicorn access log (it would
    print tokens), no websockets."""
    limits = {
        name: getattr(config, name)
        for name in (
            "header_timeout",
            "send_timeout",
            "max_head_bytes",
            "max_header_bytes",
            "max_headers",
        )
    }
    uv = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=type("Protocol", (BoundedProtocol,), limits),
        headers=[
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in config.security_headers()
        ],
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
    """uvicorn's server, calling ``on_ready`` once it accepts connections, and ``on_hangup`` on
    SIGHUP (the convention for "reopen your log files"; uvicorn would let it stop the process)
    when it runs in a process's main thread."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_ready: Callable[[], None] | None = None,
        on_hangup: Callable[[], None] | None = None,
    ):
        super().__init__(config)
        self.on_ready = on_ready
        self.on_hangup = on_hangup

    async def startup(self, sockets=None) -> None:
        if self.on_hangup is not None:
            import asyncio

            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.on_hangup)
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()
