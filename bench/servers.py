"""The HTTP servers the benchmarks compare, each run as its own process on a loopback port.

``server.py`` is run as users run it (a subprocess, not a thread in the benchmark's process, so
the load generator and the browser driver do not share its interpreter). ``python -m http.server``
and Debian's ``nginx`` serve the same files from a plain static layout made in a temp folder.
"""

import contextlib
import gzip
import json
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
RUNTIME = ROOT / "runtime"
NODE_MODULES = RUNTIME / "node_modules"
PYODIDE_DIR = NODE_MODULES / "pyodide"
PYSCRIPT_DIST = NODE_MODULES / "@pyscript" / "core" / "dist"
WHEEL = "pyodide_http-0.2.2-py3-none-any.whl"


def npm_version(package_dir):
    return json.loads((package_dir / "package.json").read_text())["version"]


PYODIDE_VERSION = npm_version(PYODIDE_DIR)
# The largest runtime file, at its URL in the frame's layout (docs/architecture.md).
WASM_PATH = f"/runtime/npm/pyodide@{PYODIDE_VERSION}/pyodide.asm.wasm"


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
def server_py(tmp, frame_dir=None, extra=()):
    """``python server.py`` serving ``frame_dir`` (default: the production frame), with
    ``extra`` options (``--workers 2``)."""
    port = free_port()
    args = [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--access-log", "off",
            "--error-log", str(Path(tmp, "placement-errors.jsonl")), *extra]
    if frame_dir:
        args += ["--frame", str(frame_dir)]
    with process(args, f"http://127.0.0.1:{port}/healthz", "server.py") as _:
        yield f"http://127.0.0.1:{port}/"


def static_layout(tmp):
    """The frame's URL layout as plain files (symlinks to the same bytes) for static servers,
    plus the naive PyScript page at ``/naive/``."""
    root = Path(tmp, "static")
    if root.exists():
        return root
    for item in (ROOT / "frame").iterdir():
        if item.is_file():
            (root).mkdir(parents=True, exist_ok=True)
            os.symlink(item, root / item.name)
    npm = root / "runtime" / "npm"
    npm.mkdir(parents=True)
    for package in ("pyodide", "@pyscript/core", "@micropython/micropython-webassembly-pyscript"):
        target = npm / f"{package}@{npm_version(NODE_MODULES / package)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(NODE_MODULES / package, target)
    if (RUNTIME / "snapshot").is_dir():
        os.symlink(RUNTIME / "snapshot", root / "runtime" / "snapshot")
    (root / "runtime" / "pypi").mkdir()
    os.symlink(RUNTIME / "wheels" / WHEEL, root / "runtime" / "pypi" / WHEEL)
    (root / "pylib").mkdir()
    os.symlink(ROOT / "pylib" / "bx24", root / "pylib" / "bx24")
    naive = root / "naive"
    shutil.copytree(ROOT / "bench" / "frames" / "naive", naive)
    os.symlink(PYSCRIPT_DIST, naive / "pyscript")
    os.symlink(PYODIDE_DIR, naive / "pyodide")
    os.symlink(RUNTIME / "wheels" / WHEEL, naive / WHEEL)
    return root


def frame_without_snapshot(tmp):
    """A copy of the production frame whose pyodide.json loads plain pyodide.mjs: the
    snapshot lever's counterfactual."""
    folder = Path(tmp, "frame-no-snapshot")
    if not folder.exists():
        shutil.copytree(ROOT / "frame", folder)
        config_path = folder / "pyodide.json"
        config = json.loads(config_path.read_text())
        config["interpreter"] = f"./runtime/npm/pyodide@{PYODIDE_VERSION}/pyodide.mjs"
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    return folder


@contextlib.contextmanager
def http_server(tmp):
    """``python -m http.server`` over the static layout: no cache headers, no compression."""
    root = static_layout(tmp)
    port = free_port()
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(root)]
    with process(args, f"http://127.0.0.1:{port}/index.html", "python -m http.server"):
        yield f"http://127.0.0.1:{port}/"


NGINX_CONF = """\
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  types {{ application/wasm wasm; text/javascript mjs; }}
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    gzip_static on;
    # Bitrix24 POSTs to the handler; nginx's static module answers POST with 405 otherwise.
    location = / {{ try_files /index.html =404; error_page 405 =200 $uri; }}
    location /runtime/ {{ add_header Cache-Control "public, max-age=31536000, immutable"; }}
  }}
}}
"""


@contextlib.contextmanager
def nginx(tmp):
    """Debian's nginx as a normal foreground process over the static layout, precompressed
    (gzip_static) like server.py's cache, so both serve the same bytes the same way."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(exe):
        raise RuntimeError("nginx is not installed (apt-get install nginx; ./dev.sh bench does)")
    root = static_layout(tmp)
    # gzip_static looks for <file>.gz next to the file: give the wasm its own folder copy.
    wasm_dir = Path(tmp, "nginx-root")
    if not wasm_dir.exists():
        shutil.copytree(root, wasm_dir, symlinks=True)
        link = wasm_dir / WASM_PATH.lstrip("/")
        package_dir = link.parent
        package_dir.unlink()
        package_dir.mkdir()
        for item in PYODIDE_DIR.iterdir():
            os.symlink(item, package_dir / item.name)
        with open(PYODIDE_DIR / "pyodide.asm.wasm", "rb") as src:
            (package_dir / "pyodide.asm.wasm.gz").write_bytes(gzip.compress(src.read(), 6))
    port = free_port()
    conf = Path(tmp, "nginx.conf")
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=wasm_dir))
    args = [exe, "-p", str(tmp), "-c", str(conf)]
    if os.geteuid() == 0:
        args += ["-g", "user root;"]
    with process(args, f"http://127.0.0.1:{port}/index.html", "nginx"):
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
