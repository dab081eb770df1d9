"""The nginx configuration ``bx24 export`` writes next to the exported files.

What it must do (docs/deployment.md): answer Bitrix24's POST on ``/`` (and on the application's
``install`` and ``main`` pages) with the page (a static
file answers POST with 405: ``error_page 405 =200`` turns it into the page, the known recipe),
send the page ``no-cache`` and every other file ``immutable`` (their URLs name their content),
send the precompressed ``.gz`` copies (``gzip_static``; the ``.br`` ones too with ``brotli``:
the static module of ngx_brotli), the same security headers and content
types as ``bx24 serve`` (both written from the same tables), never log a query string
(Bitrix24 puts its parameters there), and pass ``/error-handler`` to the Python server.
"""

from __future__ import annotations

from pathlib import Path

from bx24_server import endpoints
from bx24_server.config import Config
from bx24_server.mediatypes import known
from bx24_server.mounts import IMMUTABLE, REVALIDATE

from . import layout


# HTTP/2 over TLS: the frame's dozen files share one connection, no queue behind HTTP/1.1's six
# (docs/performance.md)
TLS_LISTEN = "443 ssl http2"
PLAIN_LISTEN = "127.0.0.1:8080"


class NginxOptions:
    """``listen`` (default :data:`TLS_LISTEN` with a certificate, else :data:`PLAIN_LISTEN`),
    ``server_name``, TLS ``cert``/``key``, ``root`` (where the files will be),
    ``upstream`` (the ``bx24 serve`` that takes ``/error-handler``), ``logs`` (a folder),
    ``brotli`` (nginx has ngx_brotli's static module: send the ``.br`` copies)."""

    def __init__(
        self,
        *,
        root: Path,
        listen: str | None = None,
        server_name: str = "_",
        cert: str | None = None,
        key: str | None = None,
        upstream: str = "http://127.0.0.1:8000",
        logs: str = "/var/log/nginx",
        max_body: int = 64 * 1024,
        brotli: bool = False,
    ):
        if (cert is None) != (key is None):
            raise ValueError("TLS needs both --cert and --key")
        self.root = root
        self.listen = listen or (TLS_LISTEN if cert else PLAIN_LISTEN)
        self.brotli = brotli
        self.server_name = server_name
        self.cert = cert
        self.key = key
        self.upstream = upstream.rstrip("/")
        self.logs = logs.rstrip("/")
        self.max_body = max_body


def _quote(value: str) -> str:
    if any(c in value for c in '"\\\n\r;{}'):
        raise ValueError(f"cannot put {value!r} in an nginx config")
    return f'"{value}"'


def render(options: NginxOptions, config: Config) -> str:
    """The config: a ``log_format`` and a ``server`` block, for nginx's ``http {}`` context."""
    security = list(config.security_headers())
    if (
        options.cert
        and config.hsts_max_age
        and not any(name == b"strict-transport-security" for name, _ in security)
    ):
        security.append((b"strict-transport-security", f"max-age={config.hsts_max_age}".encode()))
    headers = "".join(
        f"        add_header {name.decode()} {_quote(value.decode())} always;\n"
        for name, value in security
    )
    # bx24 serve sends its own: hidden, so a proxied answer carries these once, nginx's
    hidden = "".join(f"        proxy_hide_header {name.decode()};\n" for name, _ in security)

    def cache(value: bytes) -> str:
        return f"        add_header Cache-Control {_quote(value.decode())} always;\n" + headers

    types: dict[str, list[str]] = {}
    text_types = set()
    for suffix, (mime, text) in sorted(known().items()):
        types.setdefault(mime, []).append(suffix[1:])
        if text:
            text_types.add(mime)
    type_lines = "".join(
        f"        {mime} {' '.join(suffixes)};\n" for mime, suffixes in sorted(types.items())
    )
    text_types.discard("text/html")  # in charset_types by default: listing it again warns
    tls = ""
    if options.cert and options.key:
        tls = (
            f"    ssl_certificate {_quote(options.cert)};\n"
            f"    ssl_certificate_key {_quote(options.key)};\n"
        )

    def match(name):
        return "^~" if name in endpoints.PROXIED_WITH_PATHS else "="

    pages = "".join(
        f"""    location = /{path} {{
        error_page 405 =200 /{file};
        try_files /{file} =404;
{cache(REVALIDATE)}    }}
    location = /{file} {{
{cache(REVALIDATE)}    }}
"""
        for path, file in layout.PAGES.values()
    )
    proxied = "".join(
        f"""    location {match(name)} /{name} {{
        proxy_pass {options.upstream}/{name};
        proxy_set_header Host $host;
        proxy_set_header User-Agent $http_user_agent;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
{hidden}{headers}    }}
"""
        for name in endpoints.PROXIED
    )
    brotli = (
        "    brotli_static on;  # ngx_brotli (Debian: libnginx-mod-http-brotli-static)\n"
        if options.brotli
        else "    # With ngx_brotli's static module (Debian: libnginx-mod-http-brotli-static),\n"
        "    # `bx24 export --brotli` sends the .br copies: a quarter smaller.\n"
    )
    return f"""\
# Generated by `bx24 export`: the Bitrix24 worker frame as static files.
# Include this file in nginx's http {{}} block (e.g. as /etc/nginx/conf.d/bx24.conf), then
# `nginx -t && nginx -s reload`. Run `bx24 serve` at {options.upstream} for /error-handler.
# Regenerate it with `bx24 export` rather than editing it.

# No query string and no referrer in the log: Bitrix24 passes its parameters in the URL.
# (The request line as received, cut at "?": $uri would show Bitrix24's POST as the GET of
# /index.html it becomes.)
map $request $bx24_frame_request {{
    "~^(?<method>\\S+) (?<path>[^?\\s]*)" "$method $path";
    default "-";
}}
log_format bx24_frame '$remote_addr [$time_local] "$bx24_frame_request" $status '
                      '$body_bytes_sent $request_time';

server {{
    listen {options.listen};
    server_name {options.server_name};
{tls}    root {_quote(str(options.root))};
    access_log {_quote(options.logs + "/bx24-frame.access.log")} bx24_frame;
    # nginx's error lines quote the request line, query string (Bitrix24's tokens) included,
    # and their format cannot be changed: only critical ones are kept. A refused or failed
    # request is in the access log, with its status and without its query.
    error_log {_quote(options.logs + "/bx24-frame.error.log")} crit;

    types {{
{type_lines}    }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types {" ".join(sorted(text_types))};
    gzip_static on;
    gzip_vary on;
{brotli}
    client_max_body_size {options.max_body};
    server_tokens off;

    # Bitrix24 loads its handlers with a POST (the worker at /, the application's install and
    # main pages): static files answer POST with 405, which becomes the page (as a GET). The
    # pages change with every deployment: revalidated.
{pages}
    location = /healthz {{
        default_type text/plain;
{headers}        return 200 "ok\\n";
    }}

    # Bitrix24's notice when it unbinds a handler that loads too slowly, and the frames' own
    # reports (a boot that failed, a Python error): kept by bx24 serve.
{proxied}

    # Everything else is named by its content or its pinned version: kept for a year.
    location / {{
        try_files $uri =404;
{cache(IMMUTABLE)}    }}

    location ~ /\\. {{
{headers}        return 404;
    }}
}}
"""
