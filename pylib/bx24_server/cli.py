"""``python server.py``: serve the Bitrix24 worker frame (see ``--help``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .compression import precompress
from .config import DEFAULT_MAX_BODY, FRAME_ANCESTORS_ENV, Config
from .serving import Server, bind_socket, url_of, uvicorn_config
from .workers import run_workers


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="server.py",
        description="Serve the Bitrix24 PAGE_BACKGROUND_WORKER frame, its pinned PyScript "
        "runtime, the bx24 library and the call-card emulator.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 0 for any free one "
                   "(default %(default)s)")
    p.add_argument("--cert", metavar="FILE", help="TLS certificate (PEM); needs --key")
    p.add_argument("--key", metavar="FILE", help="TLS private key (PEM); needs --cert")
    p.add_argument("--frame", metavar="DIR", help="the frame folder (default <repo>/frame)")
    p.add_argument("--runtime", metavar="DIR",
                   help="the runtime folder with node_modules/, wheels/ and snapshot/ "
                   "(default <repo>/runtime)")
    p.add_argument("--bx24", metavar="DIR",
                   help="the bx24 library folder served at /pylib/bx24/ (default: where the "
                   "bx24 package is installed)")
    p.add_argument("--emulator", metavar="DIR",
                   help="the emulator folder served at /emulator/ (default: bx24_testing's "
                   "static/emulator)")
    p.add_argument("--error-log", metavar="FILE",
                   help="where Bitrix24's placement error notices are appended as JSON lines "
                   "(default <repo>/logs/placement-errors.jsonl)")
    p.add_argument("--frame-ancestors", metavar="SOURCES",
                   help="who may embed the frame: the CSP frame-ancestors sources, space "
                   f"separated (default: ${FRAME_ANCESTORS_ENV}, else 'self' and the Bitrix24 "
                   "cloud domains; add your on-premise portal's https origin)")
    p.add_argument("--max-body", type=_size, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help="largest request body accepted, larger ones get 413 "
                   "(default %(default)s)")
    p.add_argument("--access-log", default="-", metavar="FILE|-|off",
                   help="one line per request, tokens masked: a file, - for stdout "
                   "(default), off for none")
    p.add_argument("--cache-dir", metavar="DIR",
                   help="where compressed runtime files are kept "
                   "(default <repo>/.cache/bx24_server)")
    p.add_argument("--workers", type=_workers, default=1, metavar="N",
                   help="server processes sharing the port (default %(default)s); more than "
                   "one keeps tail latency low under many connections (needs fork: Linux, macOS)")
    p.add_argument("--precompress", action="store_true",
                   help="compress the runtime files into the cache folder, then exit "
                   "(the set-up runs this once)")
    return p


def config_from(args: argparse.Namespace, repo_dir: Path) -> Config:
    return Config(
        repo_dir=repo_dir,
        host=args.host,
        port=args.port,
        certfile=args.cert,
        keyfile=args.key,
        frame_dir=args.frame,
        runtime_dir=args.runtime,
        bx24_dir=args.bx24,
        emulator_dir=args.emulator,
        error_log=args.error_log,
        frame_ancestors=args.frame_ancestors,
        max_body=args.max_body,
        access_log=None if args.access_log == "off" else args.access_log,
        cache_dir=args.cache_dir if args.cache_dir is not None else "",
    )


def _check_folders(config: Config, p: argparse.ArgumentParser) -> None:
    if not (config.frame_dir / "index.html").is_file():
        p.error(f"no frame at {config.frame_dir}/index.html (use --frame DIR)")
    for name in ("certfile", "keyfile"):
        path = getattr(config, name)
        if path is not None and not path.is_file():
            p.error(f"TLS {name[:-4]} file not found: {path}")
    if not config.node_modules_dir.is_dir():
        print(f"warning: no PyScript runtime in {config.node_modules_dir}: run the set-up "
              "(see README); /runtime/ answers 404 until then", file=sys.stderr)


def main(argv: list[str] | None = None, repo_dir: str | os.PathLike | None = None) -> int:
    """Run the server until interrupted. ``repo_dir`` anchors the default folders (server.py
    passes its own folder; ``python -m bx24_server`` uses the current one)."""
    p = parser()
    args = p.parse_args(argv)
    try:
        config = config_from(args, Path(repo_dir) if repo_dir is not None else Path.cwd())
    except ValueError as error:
        p.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")

    if args.precompress:
        try:
            done = precompress(config)
        except ValueError as error:
            p.error(str(error))
        kept = [(size, encoded) for _, size, encoded in done if encoded is not None]
        print(f"Compressed {len(done)} runtime files into {config.cache_dir}: {len(kept)} "
              f"served gzipped, {sum(s for s, _ in kept) / 1e6:.1f} MB -> "
              f"{sum(e for _, e in kept) / 1e6:.1f} MB; the rest do not shrink enough")
        return 0

    _check_folders(config, p)
    if args.workers > 1 and not hasattr(os, "fork"):
        p.error("--workers needs os.fork (Linux or macOS)")
    try:
        uv_config = uvicorn_config(config)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        p.error(f"cannot load the TLS certificate/key: {error}")
    try:
        sock = bind_socket(config)
    except OSError as error:
        p.error(f"cannot listen on {config.host}:{config.port}: {error.strerror or error}")
    url = url_of(config, sock)

    def announce():
        print(f"Serving the Bitrix24 worker frame on {url}", flush=True)
        print(f"Call-card emulator: {url}emulator/", flush=True)

    try:
        if args.workers > 1:
            return run_workers(args.workers, lambda: Server(uv_config).run(sockets=[sock]),
                               sock, on_ready=announce)
        Server(uv_config, on_ready=announce).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
