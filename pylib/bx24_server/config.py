"""The server's settings in one plain object, with the defaults the command line documents."""

from __future__ import annotations

import os
from pathlib import Path

from .portalclient import DEFAULT_OAUTH_SERVER

# Bitrix24 cloud portals: the frame may only be embedded by these (and by ourselves, for the
# emulator). On-premise portals add their own origin with --frame-ancestors/BX24_FRAME_ANCESTORS.
BITRIX24_CLOUD_DOMAINS = (
    "ru",
    "com",
    "de",
    "eu",
    "by",
    "kz",
    "ua",
    "in",
    "es",
    "fr",
    "it",
    "pl",
    "com.br",
    "com.tr",
    "cn",
    "jp",
    "id",
    "vn",
    "co",
)
DEFAULT_FRAME_ANCESTORS = " ".join(
    ["'self'"] + [f"https://*.bitrix24.{tld}" for tld in BITRIX24_CLOUD_DOMAINS]
)
FRAME_ANCESTORS_ENV = "BX24_FRAME_ANCESTORS"

DEFAULT_MAX_BODY = 64 * 1024


class Config:
    """Settings of one server (what it serves is given separately: a site with its mounts).

    ``access_log`` is a file path, ``"-"`` for standard output, or ``None`` for no access log.
    ``cache_dir`` keeps the compressed copies of large files across restarts (``None``: memory
    only). ``client_id`` and ``client_secret`` (the Bitrix24 application's) make it the
    application's server too (:mod:`.application`): its portals in ``portal_store`` (a SQLite
    file or a ``postgresql://`` URL), tokens refreshed through ``oauth_server``, the worker
    bound again at most ``rebinds_per_day`` times a portal and day, ``rebind_backoff`` seconds
    apart at first.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        certfile: str | os.PathLike | None = None,
        keyfile: str | os.PathLike | None = None,
        error_log: str | os.PathLike = Path("logs", "placement-errors.jsonl"),
        report_log: str | os.PathLike | None = None,
        log_max_bytes: int = 10 * 2**20,
        log_keep: int = 5,
        notices_per_minute: float = 30.0,
        notice_burst: int = 10,
        frame_ancestors: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        access_log: str | os.PathLike | None = "-",
        cache_dir: str | os.PathLike | None = None,
        memory_cache_bytes: int = 64 * 1024 * 1024,
        body_timeout: float = 30.0,
        header_timeout: float = 10.0,
        send_timeout: float = 60.0,
        max_head_bytes: int = 64 * 1024,
        max_header_bytes: int = 16 * 1024,
        max_headers: int = 100,
        hsts_max_age: int = 365 * 24 * 3600,
        client_id: str | None = None,
        client_secret: str | None = None,
        portal_store: str | os.PathLike = Path("data", "bx24-portals.sqlite3"),
        oauth_server: str = DEFAULT_OAUTH_SERVER,
        rebinds_per_day: int = 5,
        rebind_backoff: float = 60.0,
    ):
        self.host = host
        self.port = int(port)
        if (certfile is None) != (keyfile is None):
            raise ValueError("TLS needs both a certificate and a key file (--cert and --key)")
        self.certfile = Path(certfile) if certfile is not None else None
        self.keyfile = Path(keyfile) if keyfile is not None else None
        self.error_log = Path(error_log)
        # The frames' own reports go beside Bitrix24's notices unless told otherwise.
        self.report_log = (
            Path(report_log)
            if report_log is not None
            else self.error_log.with_name("frame-reports.jsonl")
        )
        if int(log_max_bytes) < 1024 or int(log_keep) < 0:
            raise ValueError(
                "a log is at least 1024 bytes before it rotates, and keeps >= 0 old files"
            )
        self.log_max_bytes = int(log_max_bytes)
        self.log_keep = int(log_keep)
        if not float(notices_per_minute) > 0 or int(notice_burst) < 1:
            raise ValueError("the notice rate is > 0 per minute with a burst of >= 1")
        self.notices_per_minute = float(notices_per_minute)
        self.notice_burst = int(notice_burst)
        if frame_ancestors is None:
            frame_ancestors = os.environ.get(FRAME_ANCESTORS_ENV) or DEFAULT_FRAME_ANCESTORS
        self.frame_ancestors = " ".join(frame_ancestors.split())
        if not self.frame_ancestors or any(c in self.frame_ancestors for c in ";,\r\n"):
            raise ValueError(
                "frame ancestors must be a space-separated list of CSP sources, "
                f"e.g. \"'self' https://portal.example.com\", not {frame_ancestors!r}"
            )
        if int(max_body) < 0:
            raise ValueError(f"the body limit must be >= 0 bytes, not {max_body}")
        self.max_body = int(max_body)
        self.access_log = (
            None if access_log is None else "-" if str(access_log) == "-" else Path(access_log)
        )
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.memory_cache_bytes = int(memory_cache_bytes)
        # A request's line and headers must arrive within header_timeout seconds, its body
        # within body_timeout more (slow clients cannot hold connections forever).
        self.body_timeout = float(body_timeout)
        self.header_timeout = float(header_timeout)
        # A client that reads nothing of a response for send_timeout seconds is dropped.
        self.send_timeout = float(send_timeout)
        for name, value in (
            ("body_timeout", body_timeout),
            ("header_timeout", header_timeout),
            ("send_timeout", send_timeout),
        ):
            if not float(value) > 0:
                raise ValueError(f"{name} is a number of seconds > 0, not {value}")
        # The request line and headers: bounded in all, per line and in number (431 beyond).
        self.max_head_bytes = int(max_head_bytes)
        self.max_header_bytes = int(max_header_bytes)
        self.max_headers = int(max_headers)
        if min(self.max_head_bytes, self.max_header_bytes, self.max_headers) < 1:
            raise ValueError("the request head limits are at least 1")
        # Strict-Transport-Security over TLS (0: none).
        if int(hsts_max_age) < 0:
            raise ValueError(f"the HSTS max-age is >= 0 seconds, not {hsts_max_age}")
        self.hsts_max_age = int(hsts_max_age)
        if (client_id is None) != (client_secret is None):
            raise ValueError(
                "the application's server needs both its client_id and its "
                "client_secret (--client-id, --client-secret-file)"
            )
        self.client_id = client_id
        self.client_secret = client_secret
        self.portal_store = portal_store
        if not str(oauth_server).startswith(("https://", "http://")):
            raise ValueError(f"the OAuth server is an http(s) URL, not {oauth_server!r}")
        self.oauth_server = oauth_server
        if int(rebinds_per_day) < 1 or not float(rebind_backoff) >= 0:
            raise ValueError("rebinds per day >= 1, and a back-off >= 0 seconds")
        self.rebinds_per_day = int(rebinds_per_day)
        self.rebind_backoff = float(rebind_backoff)

    @classmethod
    def default(cls, name: str):
        """The default of the setting ``name``: the command line shows these, never its own."""
        import inspect

        return inspect.signature(cls.__init__).parameters[name].default

    def security_headers(self) -> list[tuple[bytes, bytes]]:
        """What every answer carries (the exported nginx config sends the same)."""
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", f"frame-ancestors {self.frame_ancestors}".encode()),
            # The frame's own URL may carry Bitrix24 parameters: never pass it on as a Referer.
            (b"referrer-policy", b"no-referrer"),
        ]
        if self.certfile is not None and self.hsts_max_age:
            headers.append((b"strict-transport-security", f"max-age={self.hsts_max_age}".encode()))
        return headers

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    @property
    def application(self) -> bool:
        """Whether this server is the application's server too (it has its credentials)."""
        return self.client_id is not None

    def __repr__(self) -> str:  # never the client secret
        fields = ", ".join(
            f"{k}={'***' if k == 'client_secret' and v else v!r}" for k, v in vars(self).items()
        )
        return f"Config({fields})"
