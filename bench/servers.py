"""The HTTP servers the benchmarks compare, each run as its own process on a loopback port.

``bx24 serve`` is run as users run it (a subprocess, not a thread in the benchmark's process,
so the load generator and the browser driver do not share its interpreter). ``python -m
http.server`` and Debian's ``nginx`` serve ``bx24 export``'s static copy of the same frame (nginx
with the config the export writes). The URL layout comes from bx24_frame.layout through these.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pylib"))

from bx24_frame import layout  # noqa: E402
from bx24_frame.runtime import PYODIDE, PYSCRIPT, Pins, Runtime  # noqa: E402

RUNTIME = Runtime()
PINS = Pins()
WHEEL = RUNTIME.wheel_files()[0] if RUNTIME.installed() else None
# The largest runtime file, at its URL in the frame's layout.
WASM_PATH = "/" + layout.npm_url(PYODIDE, PINS.version(PYODIDE), "pyodide.asm.wasm")
BX24 = [sys.executable, "-m", "bx24_frame"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(url, proc, what, timeout=30.0):
    """Poll until ``url`` answers (any HTTP status) or ``proc`` died: a socket readiness check."""
    import ssl

    unverified = ssl._create_unverified_context()  # the bench's own self-signed certificate
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2, context=unverified).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                raise RuntimeError(f"{what} did not start: {out}") from None
            time.sleep(0.05)


@contextlib.contextmanager
def process(args, url, what, cwd=ROOT):
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_listening(url, proc, what)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _over(tls, args, port):
    """A bx24 server's arguments and origin: HTTPS with ``tls`` (a :class:`Certificate`)."""
    if tls is None:
        return args, f"http://127.0.0.1:{port}"
    return args + ["--cert", str(tls.cert), "--key", str(tls.key)], f"https://127.0.0.1:{port}"


@contextlib.contextmanager
def bx24_serve(tmp, project=ROOT, extra=(), tls=None):
    """``bx24 serve`` for ``project`` (default: this repo's app), with ``extra`` options
    (``--workers 2``); over HTTPS with ``tls`` (a :class:`Certificate`)."""
    port = free_port()
    Path(tmp).mkdir(parents=True, exist_ok=True)
    args = [
        *BX24,
        "serve",
        "--project",
        str(project),
        "--port",
        str(port),
        "--access-log",
        "off",
        "--error-log",
        str(Path(tmp, "placement-errors.jsonl")),
        *extra,
    ]
    args, origin = _over(tls, args, port)
    with process(args, f"{origin}/healthz", "bx24 serve") as _:
        yield f"{origin}/"


@contextlib.contextmanager
def static_serve(tmp, folder, extra=(), tls=None):
    """A plain folder (the JS baseline frame) served by bx24's server: bench/static_site.py."""
    port = free_port()
    Path(tmp).mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        str(ROOT / "bench" / "static_site.py"),
        str(folder),
        "--port",
        str(port),
        "--access-log",
        "off",
        "--error-log",
        str(Path(tmp, "placement-errors.jsonl")),
        *extra,
    ]
    args, origin = _over(tls, args, port)
    with process(args, f"{origin}/healthz", "static_site.py") as _:
        yield f"{origin}/"


def exported(tmp):
    """``bx24 export`` of this repo's app into ``tmp/export`` (once)."""
    out = Path(tmp, "export")
    if not out.exists():
        subprocess.run(
            [*BX24, "export", str(out), "--project", str(ROOT)], check=True, capture_output=True
        )
    return out


def static_layout(tmp):
    """The export's web root plus the naive PyScript page at ``/naive/``, for http.server."""
    root = exported(tmp) / "www"
    naive = root / "naive"
    if not naive.exists():
        shutil.copytree(ROOT / "bench" / "frames" / "naive", naive)
        os.symlink(RUNTIME.package_dir(PYSCRIPT) / "dist", naive / "pyscript")
        os.symlink(RUNTIME.package_dir(PYODIDE), naive / "pyodide")
        os.symlink(WHEEL, naive / WHEEL.name)
    return root


def project_without_snapshot(tmp):
    """This repo's app in a project whose snapshot was never built (another `preload`): the
    snapshot lever's counterfactual."""
    project = Path(tmp, "no-snapshot")
    if not project.exists():
        project.mkdir()
        from bx24_frame import settings

        os.symlink(settings.load(ROOT).app_dir, project / "frame")
        (project / "bx24.toml").write_text('preload = ["colorsys"]\n')
    return project


@contextlib.contextmanager
def http_server(tmp):
    """``python -m http.server`` over the exported files: no cache headers, no compression."""
    root = static_layout(tmp)
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(root),
    ]
    with process(args, f"http://127.0.0.1:{port}/index.html", "python -m http.server"):
        yield f"http://127.0.0.1:{port}/"


NGINX_CONF = """\
{user}
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  include {conf};
}}
"""


@contextlib.contextmanager
def nginx(tmp):
    """Debian's nginx as a normal foreground process, with the config ``bx24 export`` wrote."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        raise RuntimeError("nginx is not installed (apt-get install nginx; ./dev.sh bench does)")
    port = free_port()
    out = Path(tmp, "nginx-export")
    if not out.exists():
        subprocess.run(
            [
                *BX24,
                "export",
                str(out),
                "--project",
                str(ROOT),
                "--listen",
                f"127.0.0.1:{port}",
                "--logs",
                str(tmp),
            ],
            check=True,
            capture_output=True,
        )
    else:  # the port is new: rewrite the listen line
        conf = (out / "nginx.conf").read_text()
        (out / "nginx.conf").write_text(
            "\n".join(
                f"    listen 127.0.0.1:{port};" if line.strip().startswith("listen ") else line
                for line in conf.splitlines()
            )
            + "\n"
        )
    main = Path(tmp, "nginx.conf")
    main.write_text(
        NGINX_CONF.format(
            tmp=tmp, conf=out / "nginx.conf", user="user root;" if os.geteuid() == 0 else ""
        )
    )
    with process(
        [exe, "-p", str(tmp), "-c", str(main)], f"http://127.0.0.1:{port}/healthz", "nginx"
    ):
        yield f"http://127.0.0.1:{port}/"


STUB_HOST = "api.bitrix24.com"


class Certificate:
    """A self-signed certificate for the bench's HTTPS servers (``api.bitrix24.com``,
    ``127.0.0.1``, ``localhost``) and its key's SPKI hash, which Chromium is told to trust."""

    def __init__(self, tmp):
        self.cert, self.key = Path(tmp, "bench-cert.pem"), Path(tmp, "bench-key.pem")
        if not self.cert.exists():
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    f"/CN={STUB_HOST}",
                    "-addext",
                    f"subjectAltName=DNS:{STUB_HOST},DNS:localhost,IP:127.0.0.1",
                    "-keyout",
                    str(self.key),
                    "-out",
                    str(self.cert),
                ],
                check=True,
                capture_output=True,
            )
        self.spki = _spki_sha256(self.cert)


@contextlib.contextmanager
def bx24_stub_host(tmp):
    """Serve the BX24 stub at ``https://api.bitrix24.com/api/v1/`` on a loopback port.

    Why not Playwright's request routing, as the tests do: routing disables Chromium's HTTP
    cache, and warm loads are about that cache. Chromium is pointed here instead with
    ``--host-resolver-rules`` (see :func:`stub_browser_args`); the certificate is the bench's
    own (:class:`Certificate`). The stub is cacheable for an hour, like a CDN script, for every
    row alike.
    """
    import http.server
    import ssl
    import threading

    from bx24_testing.stub import stub_script

    tls = Certificate(tmp)
    body = stub_script().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StubHost(server.server_address[1], tls.spki)
    finally:
        server.shutdown()
        server.server_close()


class StubHost:
    def __init__(self, port, spki):
        self.port, self.spki = port, spki


def _spki_sha256(cert):
    """base64(sha256(SubjectPublicKeyInfo)) of a PEM certificate: what Chromium's
    --ignore-certificate-errors-spki-list takes."""
    import base64
    import hashlib

    public = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"], check=True, capture_output=True
    ).stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"],
        input=public,
        check=True,
        capture_output=True,
    ).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def embeddable_by_portal():
    """``bx24 serve`` options that let the kit's portal stand-in embed the frame."""
    from bx24_server.config import DEFAULT_FRAME_ANCESTORS
    from bx24_testing.portal import ANCESTORS

    return ["--frame-ancestors", f"{DEFAULT_FRAME_ANCESTORS} {ANCESTORS}"]


def stub_browser_args(host):
    """Chromium flags that send api.bitrix24.com to the stub host, and trust its certificate
    by its key alone. Not --ignore-certificate-errors: Chromium does not cache a response that
    had a certificate error, so the stub would never be warm."""
    return [
        f"--host-resolver-rules=MAP {STUB_HOST} 127.0.0.1:{host.port}",
        f"--ignore-certificate-errors-spki-list={host.spki}",
    ]
