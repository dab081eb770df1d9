"""The ``bx24`` command: create, set up, serve and export a Bitrix24 call-card frame in Python.

::

    bx24 new DIR          a ready project: frame/main.py, a test, a pytest config, a README
    bx24 setup            install the pinned runtime, build the Pyodide snapshot, precompress
    bx24 serve            serve the frame (and with --emulator, the call-card emulator)
    bx24 export OUT       the frame as static files plus an nginx config

``--project DIR`` (default: the current folder) says which project; its ``bx24.toml`` is
optional (:mod:`bx24_frame.settings`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import settings as settings_module
from .nginx import PLAIN_LISTEN, TLS_LISTEN
from .runtime import Runtime, RuntimeMissing, cache_root
from .scaffold import ScaffoldError
from .settings import SettingsError


def _add_project(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--project",
        metavar="DIR",
        default=".",
        help="the project folder, with bx24.toml and the app (default: .)",
    )


def _say(message: str) -> None:
    print(f"[bx24] {message}", file=sys.stderr, flush=True)


def _site(args, **kwargs):
    """The project's site over the installed runtime, the cache checked (integrity.py)."""
    from . import integrity
    from .site import FrameSite

    settings = settings_module.load(args.project)
    settings.check_app()
    site = FrameSite(settings, Runtime().require(), **kwargs)
    integrity.check(site)
    return site


# -- new --------------------------------------------------------------------------------------


def cmd_new(args, p) -> int:
    from .scaffold import create

    made = create(Path(args.dir))
    print(f"Created a bx24 project in {made}:")
    print(f"  cd {args.dir} && bx24 setup && bx24 serve --emulator   # see it drive a call card")
    print(f"  cd {args.dir} && pytest                               # its tests, in Chromium")
    return 0


# -- setup ------------------------------------------------------------------------------------


def cmd_setup(args, p) -> int:
    from bx24_server.compression import precompress

    from . import integrity
    from .site import FrameSite

    settings = settings_module.load(args.project)
    runtime = Runtime()
    if args.repair:
        repair(FrameSite(settings, runtime))
    if not runtime.install(say=_say):
        _say(f"the pinned runtime is installed ({runtime.dir})")
    site = FrameSite(settings, runtime)
    snapshot = site.snapshot_for()
    if not snapshot.build(say=_say):
        _say(f"the Pyodide snapshot is up to date ({snapshot.dir})")
    done = precompress(site.mounts, cache_root())
    made = [size for _, size, encoded in done if encoded]
    _say(f"{len(made)} runtime files are served gzipped")
    brotli = compress_brotli(site.mounts, cache_root())
    if brotli is not None:
        _say(f"{brotli} large files are served with brotli too (to browsers on HTTPS)")
    integrity.check(site)
    try:
        settings.check_app()
    except SettingsError as error:
        _say(f"warning: {error}")
    return 0


def repair(site) -> None:
    """Remove what the set-up made for this project (the runtime, the snapshot, the compressed
    copies), so that it is made again from the pins."""
    import shutil

    from bx24_server.compression import BROTLI, GZIP

    for folder in (
        site.runtime.dir,
        site.snapshot_for().dir,
        site.runtime.cache / GZIP,
        site.runtime.cache / BROTLI,
    ):
        if folder.exists():
            _say(f"removing {folder}")
            shutil.rmtree(folder)


def compress_brotli(mounts, cache: Path) -> int | None:
    """Brotli copies of the large runtime files that have none yet (brotli.mjs says why Node);
    how many pay, or None when there was nothing to make."""
    import json
    import subprocess

    from bx24_server.compression import brotli_jobs, brotli_made

    from .runtime import node_command

    jobs = brotli_jobs(mounts, cache)
    if not jobs:
        return None
    _say(f"compressing {len(jobs)} large files with brotli (once; about a minute)")
    jobs[0][1].parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [node_command(), str(Path(__file__).with_name("brotli.mjs"))],
        input=json.dumps([[str(source), str(copy)] for source, copy in jobs]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeMissing(f"brotli.mjs failed: {done.stderr.strip()[-2000:]}")
    return brotli_made(jobs, dict(json.loads(done.stdout)))


# -- serve ------------------------------------------------------------------------------------


def serve_parser(sub) -> argparse.ArgumentParser:
    from bx24_server.cli import add_arguments

    p = sub.add_parser(
        "serve",
        help="serve the frame (Bitrix24 loads it with a POST on /)",
        description="Serve the frame as Bitrix24 loads it: the page on / (GET, "
        "HEAD, POST), every other file under a content-hashed URL, "
        "/error-handler for Bitrix24's notices, /healthz.",
    )
    _add_project(p)
    p.add_argument(
        "--emulator",
        action="store_true",
        help="also serve the call-card emulator at /emulator/ (for development: "
        "keep it off in production)",
    )
    add_arguments(p)
    return p


def cmd_serve(args, p) -> int:
    from bx24_server.cli import config_from, serve

    kwargs = {}
    if args.emulator:
        from bx24_testing import emulator

        kwargs = {
            "variants": emulator.VARIANTS,
            "extra_mounts": emulator.mounts(),
            "routes": emulator.routes(),
        }
    site = _site(args, **kwargs)
    build = site.build()  # fails here, clearly, rather than on the first request
    if build.snapshot_manifest is None:
        _say(
            "warning: no Pyodide snapshot for this app: run `bx24 setup` (Pyodide boots "
            "seconds slower without it)"
        )
    try:
        config = config_from(
            args,
            error_log=site.settings.project_dir / "logs" / "placement-errors.jsonl",
            cache_dir=cache_root(),
            portal_store=site.settings.project_dir / "data" / "bx24-portals.sqlite3",
            frame_ancestors=site.settings.frame_ancestors,
        )
        if args.emulator:  # its page embeds the frame from the other loopback name
            config.frame_ancestors += " " + emulator.ANCESTORS
    except ValueError as error:
        p.error(str(error))

    def announce(url):
        print(f"Serving the Bitrix24 worker frame on {url}", flush=True)
        if args.emulator:
            print(f"Call-card emulator: {url}emulator/", flush=True)

    return serve(config, site, p, workers=args.workers, announce=announce)


# -- export -----------------------------------------------------------------------------------


def cmd_export(args, p) -> int:
    from bx24_server.config import Config

    from .export import WEB_ROOT, ExportError, export
    from .nginx import NginxOptions

    site = _site(args)
    out = Path(args.out).resolve()
    try:
        options = NginxOptions(
            root=Path(args.root) if args.root else out / WEB_ROOT,
            listen=args.listen,
            server_name=args.server_name,
            cert=args.cert,
            key=args.key,
            upstream=args.upstream,
            logs=args.logs,
            brotli=args.brotli,
        )
        config = Config(frame_ancestors=args.frame_ancestors or site.settings.frame_ancestors)
        manifest = export(site, out, options, config)
    except (ValueError, ExportError) as error:
        p.error(str(error))
    print(
        f"Exported {len(manifest['files'])} files to {out}: serve {out / WEB_ROOT} with "
        f"{out / 'nginx.conf'} (docs/deployment.md)"
    )
    return 0


# -- the command ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bx24",
        description="Write the Bitrix24 call card's background worker "
        "(PAGE_BACKGROUND_WORKER) in Python: create, set up, serve, test and export it.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    new = sub.add_parser(
        "new",
        help="create a project (frame/main.py, a test, a pytest config)",
        description="Create a ready project in DIR: the sample app in "
        "frame/main.py, tests/ using the bx24 pytest plugin, pytest.ini, "
        "bx24.toml and a README. Then: cd DIR && bx24 setup && pytest.",
    )
    new.add_argument("dir", metavar="DIR", help="a new (or empty) folder")
    new.set_defaults(run=cmd_new, parser=new)

    setup = sub.add_parser(
        "setup",
        help="install the pinned runtime, build the snapshot",
        description="Install the pinned PyScript runtime (npm ci, "
        "integrity-checked) and wheels (hash-checked) into the bx24 cache "
        f"({cache_root()}; BX24_CACHE to move it), build this app's Pyodide "
        "memory snapshot and compress the runtime files once. Quick when "
        "nothing changed. Needs Node.js 20+ with npm.",
    )
    _add_project(setup)
    setup.add_argument(
        "--repair",
        action="store_true",
        help="remove the runtime, the snapshot and the compressed copies first, "
        "and make them again (when a check found them changed)",
    )
    setup.set_defaults(run=cmd_setup, parser=setup)

    serve = serve_parser(sub)
    serve.set_defaults(run=cmd_serve, parser=serve)

    export = sub.add_parser(
        "export",
        help="the frame as static files and an nginx config",
        description="Write the frame into OUT/www as static files, every "
        "one under a content-hashed or versioned URL (cached for a year) but "
        "the page, with .gz copies, and OUT/nginx.conf to serve it "
        "(docs/deployment.md). The same inputs give the same bytes.",
    )
    export.add_argument("out", metavar="OUT", help="a new, empty or earlier export folder")
    _add_project(export)
    export.add_argument(
        "--root",
        metavar="PATH",
        help="where the www folder will be on the web server (default: OUT/www)",
    )
    export.add_argument(
        "--listen",
        metavar="ADDR",
        help=f"nginx's listen (default: '{TLS_LISTEN}' with --cert, else "
        f"{PLAIN_LISTEN} behind your TLS proxy)",
    )
    export.add_argument("--server-name", default="_", metavar="NAME", help="nginx's server_name")
    export.add_argument("--cert", metavar="FILE", help="TLS certificate path on the web server")
    export.add_argument("--key", metavar="FILE", help="TLS key path on the web server")
    export.add_argument(
        "--upstream",
        default="http://127.0.0.1:8000",
        metavar="URL",
        help="the bx24 serve that receives /error-handler (default %(default)s)",
    )
    export.add_argument(
        "--logs",
        default="/var/log/nginx",
        metavar="DIR",
        help="nginx's log folder (default %(default)s)",
    )
    export.add_argument(
        "--frame-ancestors",
        metavar="SOURCES",
        help="CSP frame-ancestors (default: bx24.toml's, else Bitrix24's cloud)",
    )
    export.add_argument(
        "--brotli",
        action="store_true",
        help="nginx has ngx_brotli's static module (Debian: "
        "libnginx-mod-http-brotli-static): send the .br copies",
    )
    export.set_defaults(run=cmd_export, parser=export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args, args.parser)
    except (SettingsError, RuntimeMissing, ScaffoldError) as error:
        print(f"bx24 {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
