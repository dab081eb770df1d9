"""The server's settings in one plain object, with the defaults the command line documents."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# Bitrix24 cloud portals: the frame may only be embedded by these (and by ourselves, for the
# emulator). On-premise portals add their own origin with --frame-ancestors/BX24_FRAME_ANCESTORS.
BITRIX24_CLOUD_DOMAINS = (
    "ru", "com", "de", "eu", "by", "kz", "ua", "in", "es", "fr", "it", "pl",
    "com.br", "com.tr", "cn", "jp", "id", "vn", "co",
)
DEFAULT_FRAME_ANCESTORS = " ".join(
    ["'self'"] + [f"https://*.bitrix24.{tld}" for tld in BITRIX24_CLOUD_DOMAINS]
)
FRAME_ANCESTORS_ENV = "BX24_FRAME_ANCESTORS"

DEFAULT_MAX_BODY = 64 * 1024


def package_dir(package: str, *subpath: str) -> Path | None:
    """Where an importable package lives, so files are found in a checkout and when installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0], *subpath)


class Config:
    """Settings of one server. Every path may be given; the rest default relative to ``repo_dir``.

    ``access_log`` is a file path, ``"-"`` for standard output, or ``None`` for no access log.
    ``cache_dir`` keeps the compressed runtime files across restarts (``None``: memory only).
    """

    def __init__(
        self,
        *,
        repo_dir: str | os.PathLike | None = None,
        host: str = "127.0.0.1",
        port: int = 8000,
        certfile: str | os.PathLike | None = None,
        keyfile: str | os.PathLike | None = None,
        frame_dir: str | os.PathLike | None = None,
        runtime_dir: str | os.PathLike | None = None,
        bx24_dir: str | os.PathLike | None = None,
        emulator_dir: str | os.PathLike | None = None,
        error_log: str | os.PathLike | None = None,
        frame_ancestors: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        access_log: str | os.PathLike | None = "-",
        cache_dir: str | os.PathLike | None = "",
        memory_cache_bytes: int = 64 * 1024 * 1024,
        body_timeout: float = 30.0,
        header_timeout: float = 10.0,
    ):
        repo = Path(repo_dir) if repo_dir is not None else Path.cwd()
        self.repo_dir = repo.resolve()
        self.host = host
        self.port = int(port)
        if (certfile is None) != (keyfile is None):
            raise ValueError("TLS needs both a certificate and a key file (--cert and --key)")
        self.certfile = Path(certfile) if certfile is not None else None
        self.keyfile = Path(keyfile) if keyfile is not None else None
        self.frame_dir = Path(frame_dir) if frame_dir is not None else repo / "frame"
        self.runtime_dir = Path(runtime_dir) if runtime_dir is not None else repo / "runtime"
        self.bx24_dir = Path(bx24_dir) if bx24_dir is not None else package_dir("bx24")
        self.emulator_dir = (
            Path(emulator_dir)
            if emulator_dir is not None
            else package_dir("bx24_testing", "static", "emulator")
        )
        self.error_log = (
            Path(error_log) if error_log is not None else repo / "logs" / "placement-errors.jsonl"
        )
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
        # "" means the default place; None means no disk cache.
        if cache_dir == "":
            self.cache_dir = repo / ".cache" / "bx24_server"
        else:
            self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.memory_cache_bytes = int(memory_cache_bytes)
        # A request's line and headers must arrive within header_timeout seconds, its body
        # within body_timeout more (slow clients cannot hold connections forever).
        self.body_timeout = float(body_timeout)
        self.header_timeout = float(header_timeout)

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    @property
    def node_modules_dir(self) -> Path:
        return self.runtime_dir / "node_modules"

    @property
    def wheels_dir(self) -> Path:
        return self.runtime_dir / "wheels"

    @property
    def snapshot_dir(self) -> Path:
        return self.runtime_dir / "snapshot"

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"Config({fields})"
