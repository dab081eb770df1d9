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
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
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
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
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


@contextlib.contextmanager
def bx24_serve(tmp, project=ROOT, extra=()):
    """``bx24 serve`` for ``project`` (default: this repo's app), with ``extra`` options
    (``--workers 2``)."""
    port = free_port()
    Path(tmp).mkdir(parents=True, exist_ok=True)
    args = [*BX24, "serve", "--project", str(project), "--port", str(port), "--access-log", "off",
            "--error-log", str(Path(tmp, "placement-errors.jsonl")), *extra]
    with process(args, f"http://127.0.0.1:{port}/healthz", "bx24 serve") as _:
        yield f"http://127.0.0.1:{port}/"


@contextlib.contextmanager
def static_serve(tmp, folder):
    """A plain folder (the JS baseline frame) served by bx24's server: bench/static_site.py."""
    port = free_port()
    Path(tmp).mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(ROOT / "bench" / "static_site.py"), str(folder),
            "--port", str(port), "--access-log", "off",
            "--error-log", str(Path(tmp, "placement-errors.jsonl"))]
    with process(args, f"http://127.0.0.1:{port}/healthz", "static_site.py") as _:
        yield f"http://127.0.0.1:{port}/"


def exported(tmp):
    """``bx24 export`` of this repo's app into ``tmp/export`` (once)."""
    out = Path(tmp, "export")
    if not out.exists():
        subprocess.run([*BX24, "export", str(out), "--project", str(ROOT)], check=True,
                       capture_output=True)
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
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root)]
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
        subprocess.run([*BX24, "export", str(out), "--project", str(ROOT),
                        "--listen", f"127.0.0.1:{port}", "--logs", str(tmp)],
                       check=True, capture_output=True)
    else:  # the port is new: rewrite the listen line
        conf = (out / "nginx.conf").read_text()
        (out / "nginx.conf").write_text(
            "\n".join(f"    listen 127.0.0.1:{port};" if line.strip().startswith("listen ")
                      else line for line in conf.splitlines()) + "\n")
    main = Path(tmp, "nginx.conf")
    main.write_text(NGINX_CONF.format(tmp=tmp, conf=out / "nginx.conf",
                                      user="user root;" if os.geteuid() == 0 else ""))
    with process([exe, "-p", str(tmp), "-c", str(main)], f"http://127.0.0.1:{port}/healthz",
                 "nginx"):
        yield f"http://127.0.0.1:{port}/"


STUB_HOST = "api.bitrix24.com"


@contextlib.contextmanager
def bx24_stub_host(tmp):
    """Serve the BX24 stub at ``https://api.bitrix24.com/api/v1/`` on a loopback port.

    Why not Playwright's request routing, as the tests do: routing disables Chromium's HTTP
    cache, and warm loads are about that cache. Chromium is pointed here instead with
    ``--host-resolver-rules`` (see :func:`stub_browser_args`); the certificate is self-signed.
    The stub is cacheable for an hour, like a CDN script, for every row alike.
    """
    import http.server
    import ssl
    import threading

    from bx24_testing.stub import stub_script

    cert, key = Path(tmp, "stub-cert.pem"), Path(tmp, "stub-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={STUB_HOST}", "-addext", f"subjectAltName=DNS:{STUB_HOST}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
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
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def stub_browser_args(port):
    """Chromium flags that send api.bitrix24.com to the stub host on ``port``, and only it."""
    return [f"--host-resolver-rules=MAP {STUB_HOST} 127.0.0.1:{port}",
            "--ignore-certificate-errors"]
