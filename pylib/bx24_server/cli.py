"""The server's command-line options and its run loop, for a command that serves a site
(``bx24 serve`` in :mod:`bx24_frame.cli`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from .app import create_app
from .config import FRAME_ANCESTORS_ENV, Config
from .serving import Server, bind_socket, url_of, uvicorn_config
from .workers import run_workers

CLIENT_ID_ENV = "BX24_CLIENT_ID"
CLIENT_SECRET_ENV = "BX24_CLIENT_SECRET"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0-65535; 0: any free one)")
    return value


def _workers(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1 worker")
    return value


def _size(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("a size is a number of bytes >= 0")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The server's options (the README's configuration table lists them); their defaults are
    :class:`Config`'s."""
    D = Config.default
    p.add_argument("--host", default=D("host"), help="address to listen on (default %(default)s)")
    p.add_argument(
        "--port",
        type=_port,
        default=D("port"),
        help="TCP port, 0 for any free one (default %(default)s)",
    )
    p.add_argument("--cert", metavar="FILE", help="TLS certificate (PEM); needs --key")
    p.add_argument("--key", metavar="FILE", help="TLS private key (PEM); needs --cert")
    p.add_argument(
        "--error-log",
        metavar="FILE",
        help="where Bitrix24's placement error notices are appended as JSON lines "
        "(default: logs/placement-errors.jsonl in the project)",
    )
    p.add_argument(
        "--report-log",
        metavar="FILE",
        help="where the frames' reports about themselves (POST /frame-report: boot "
        "failures, Python errors) go (default: frame-reports.jsonl beside the error "
        "log)",
    )
    p.add_argument(
        "--log-max-bytes",
        type=_size,
        default=D("log_max_bytes"),
        metavar="BYTES",
        help="each of those two logs is rotated past this size (default %(default)s)",
    )
    p.add_argument(
        "--log-keep",
        type=_size,
        default=D("log_keep"),
        metavar="N",
        help="rotated files kept per log (default %(default)s)",
    )
    p.add_argument(
        "--notices-per-minute",
        type=float,
        default=D("notices_per_minute"),
        metavar="N",
        help="notices and reports accepted per client address and minute, after a "
        f"burst of {D('notice_burst')} (default %(default)s); more get 429",
    )
    p.add_argument(
        "--frame-ancestors",
        metavar="SOURCES",
        help="who may embed the frame: the CSP frame-ancestors sources, space "
        f"separated (default: ${FRAME_ANCESTORS_ENV}, else bx24.toml's "
        "frame_ancestors, else 'self' and the Bitrix24 cloud domains)",
    )
    p.add_argument(
        "--max-body",
        type=_size,
        default=D("max_body"),
        metavar="BYTES",
        help="largest request body accepted, larger ones get 413 (default %(default)s)",
    )
    p.add_argument(
        "--access-log",
        default=D("access_log"),
        metavar="FILE|-|off",
        help="one line per request, tokens masked: a file, - for stdout (default), off for none",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where compressed copies of the runtime files are kept (default: the bx24 cache)",
    )
    p.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="server processes sharing the port (default: 1 on a loopback address, "
        "one per core otherwise); more than one keeps tail latency low under many "
        "connections (needs fork: Linux, macOS)",
    )
    p.add_argument(
        "--hsts-max-age",
        type=_size,
        default=D("hsts_max_age"),
        metavar="SECONDS",
        help="Strict-Transport-Security max-age sent over TLS, 0 for none "
        "(default %(default)s: a year)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=D("header_timeout"),
        metavar="SECONDS",
        help="a request's line and headers must arrive within this (default %(default)s)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=D("body_timeout"),
        metavar="SECONDS",
        help="a request body the server reads must arrive within this (default %(default)s)",
    )
    p.add_argument(
        "--send-timeout",
        type=float,
        default=D("send_timeout"),
        metavar="SECONDS",
        help="a client that reads nothing of an answer for this long is dropped "
        "(default %(default)s)",
    )
    app = p.add_argument_group(
        "the application's server",
        "given the Bitrix24 application's credentials, the server "
        "also takes Bitrix24's events, the install page's hand-over, and binds the worker again "
        "when Bitrix24 unbinds it (docs/installing.md)",
    )
    app.add_argument(
        "--client-id", metavar="ID", help=f"the application's client_id (or ${CLIENT_ID_ENV})"
    )
    app.add_argument(
        "--client-secret-file",
        metavar="FILE",
        help=f"a file holding its client_secret (or ${CLIENT_SECRET_ENV}); never "
        "logged, never sent to a browser",
    )
    app.add_argument(
        "--portal-store",
        metavar="PATH|URL",
        help="where the portals' tokens are kept: a SQLite file (default: "
        f"{D('portal_store')} in the project) or a postgresql:// URL",
    )
    app.add_argument(
        "--oauth-server",
        default=D("oauth_server"),
        metavar="URL",
        help="the OAuth server the client secret may go to (default %(default)s)",
    )
    app.add_argument(
        "--rebinds-per-day",
        type=int,
        default=D("rebinds_per_day"),
        metavar="N",
        help="how often a day a portal's worker is bound again at most (default %(default)s)",
    )
    app.add_argument(
        "--rebind-backoff",
        type=float,
        default=D("rebind_backoff"),
        metavar="SECONDS",
        help="the wait before a second binding, doubling after (default %(default)s)",
    )
    p.add_argument(
        "--max-head-bytes",
        type=_size,
        default=D("max_head_bytes"),
        metavar="BYTES",
        help="request line and headers at most this in all (default %(default)s), "
        "a header line at most a quarter of it, 100 lines; larger get 431",
    )


def _credentials(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The application's client_id and client_secret, from the options or the environment."""
    client_id = args.client_id or os.environ.get(CLIENT_ID_ENV) or None
    secret = os.environ.get(CLIENT_SECRET_ENV) or None
    if args.client_secret_file:
        try:
            secret = Path(args.client_secret_file).read_text("utf-8").strip() or None
        except OSError as error:
            raise ValueError(f"cannot read the client secret file: {error.strerror}") from None
    return client_id, secret


def config_from(
    args: argparse.Namespace,
    *,
    error_log: Path,
    cache_dir: Path | None,
    frame_ancestors: str | None = None,
    portal_store: Path | None = None,
) -> Config:
    """A :class:`Config` from the options, with the given defaults where none was given."""
    ancestors = args.frame_ancestors or os.environ.get(FRAME_ANCESTORS_ENV) or frame_ancestors
    client_id, client_secret = _credentials(args)
    return Config(
        client_id=client_id,
        client_secret=client_secret,
        portal_store=args.portal_store or portal_store or Config.default("portal_store"),
        oauth_server=args.oauth_server,
        rebinds_per_day=args.rebinds_per_day,
        rebind_backoff=args.rebind_backoff,
        host=args.host,
        port=args.port,
        certfile=args.cert,
        keyfile=args.key,
        error_log=args.error_log or error_log,
        report_log=args.report_log,
        log_max_bytes=args.log_max_bytes,
        log_keep=args.log_keep,
        notices_per_minute=args.notices_per_minute,
        frame_ancestors=ancestors,
        max_body=args.max_body,
        access_log=None if args.access_log == "off" else args.access_log,
        cache_dir=args.cache_dir or cache_dir,
        hsts_max_age=args.hsts_max_age,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        send_timeout=args.send_timeout,
        max_head_bytes=args.max_head_bytes,
        max_header_bytes=max(1, args.max_head_bytes // 4),
    )


def default_workers(host: str) -> int:
    """1 on loopback (development, tests); one per core on an address others reach."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return 1 if loopback else max(1, os.cpu_count() or 1)


def serve(
    config: Config,
    site,
    p: argparse.ArgumentParser,
    *,
    workers: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Run the server for ``site`` until interrupted; ``announce(url)`` once it listens.
    Problems found before it starts (certificate, port) end in ``p.error``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    if workers is None:
        workers = default_workers(config.host)
    for name in ("certfile", "keyfile"):
        path = getattr(config, name)
        if path is not None and not path.is_file():
            p.error(f"TLS {name[:-4]} file not found: {path}")
    if workers > 1 and not hasattr(os, "fork"):
        p.error("--workers needs os.fork (Linux or macOS)")
    from .portalstore import StoreError

    try:
        app = create_app(config, site)
    except StoreError as error:
        p.error(str(error))
    try:
        uv_config = uvicorn_config(config, app)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        p.error(f"cannot load the TLS certificate/key: {error}")
    try:
        sock = bind_socket(config)
    except OSError as error:
        p.error(f"cannot listen on {config.host}:{config.port}: {error.strerror or error}")
    url = url_of(config, sock)

    def ready():
        if announce is not None:
            announce(url)
        sys.stdout.flush()

    try:
        if workers > 1:
            return run_workers(
                workers,
                lambda: Server(uv_config, on_hangup=app.reopen_logs).run(sockets=[sock]),
                sock,
                on_ready=ready,
            )
        Server(uv_config, on_ready=ready, on_hangup=app.reopen_logs).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
