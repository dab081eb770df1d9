"""A throwaway site to serve, and small HTTP clients that send exactly the bytes a test means."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
BX24 = [sys.executable, "-m", "bx24_frame"]

INDEX_MARK = "<title>Bitrix24 call-card worker</title>"
# Big and repetitive enough to compress well; text types are compressed from 1 KiB on.
MAIN_PY = "from bx24 import card\n" + "# a comment that repeats\n" * 200
WASM = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 160  # 40 KiB, compresses
SNAPSHOT = bytes(4096) + b"heap" * 9000  # 40 KiB
CORE_JS = 'import"./core-Test123.js";\n' + "export const core = 1;\n" * 100
SECRET = "TOP-SECRET-FILE-CONTENT"
# Extra files of the app (bx24.toml's [files]), one per content type worth checking.
EXTRA_FILES = {
    "data.json": json.dumps({"k": list(range(400))}),
    "style.css": "body { color: red }\n",
    "app.mjs": "export {};\n",
    "logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "logo.png": b"\x89PNG\r\n\x1a\n",
    "notes.txt": "hi\n",
    "lib.zip": b"PK\x05\x06" + bytes(18),
    "settings.toml": 'interpreter = "x"\n',
}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_site(root: Path) -> dict:
    """A throwaway project (its app, bx24.toml with extra files, traps outside it) and a fake
    runtime cache holding small files at the pinned packages' places, plus a fake snapshot."""
    from bx24_frame import settings
    from bx24_frame.runtime import Pins, Runtime
    from bx24_frame.site import FrameSite

    project = root / "project"
    app = project / "frame"
    write(app / "main.py", MAIN_PY)
    write(app / "sub" / "mod.py", "X = 1\n")
    write(app / ".env", SECRET)
    for name, content in EXTRA_FILES.items():
        write(app / "extra" / name, content)
    files = "".join(f'"extra/{name}" = "{name}"\n' for name in EXTRA_FILES)
    write(project / "bx24.toml", 'app = "frame"\n[files]\n' + files)
    outside = write(root / "outside" / "secret.txt", SECRET)

    cache = root / "cache"
    pins = Pins()
    runtime = Runtime(pins, cache)
    versions = pins.packages
    modules = runtime.node_modules
    write(modules / "pyodide" / "package.json", json.dumps({"version": versions["pyodide"]}))
    write(modules / "pyodide" / "pyodide.asm.wasm", WASM)
    write(modules / "pyodide" / "pyodide.mjs", "export const version = '0';\n")
    write(modules / "pyodide" / "README.md", "not served\n")
    core = modules / "@pyscript" / "core"
    write(core / "package.json", json.dumps({"version": versions["@pyscript/core"]}))
    write(core / "dist" / "core.js", CORE_JS)
    write(core / "dist" / "core-Test123.js", "export {};\n")
    write(core / "src" / "core.js", "// source, not served\n")
    micropython = modules.joinpath(*"@micropython/micropython-webassembly-pyscript".split("/"))
    write(micropython / "micropython.mjs", "export {};\n")
    write(micropython / "micropython.wasm", WASM)
    for bundle in runtime.bundle_files().values():
        write(bundle, "export default {};\n")
    wheel = write(
        runtime.wheels_dir / "pyodide_http-0.2.2-py3-none-any.whl", b"PK\x03\x04" + os.urandom(8192)
    )  # deflated archives do not shrink again
    runtime.record()

    site = FrameSite(settings.load(project), runtime)
    snapshot = site.snapshot_for()
    # named by their content, as the set-up names them (bx24_frame.integrity checks it)
    image = write(snapshot.dir / f"{hashlib.sha256(SNAPSHOT).hexdigest()[:16]}.snapshot", SNAPSHOT)
    zipped = b"PK\x05\x06" + bytes(18)
    stdlib = write(snapshot.dir / f"stdlib.{hashlib.sha256(zipped).hexdigest()[:16]}.zip", zipped)
    write(
        snapshot.dir / "manifest.json",
        json.dumps(
            {
                "pyodide": versions["pyodide"],
                "snapshot": image.name,
                "stdlib": stdlib.name,
                "modules": [],
            }
        ),
    )
    return {
        "root": root,
        "project": project,
        "app": app,
        "cache": cache,
        "runtime": runtime,
        "site": site,
        "versions": versions,
        "wheel": wheel,
        "snapshot": image,
        "outside": outside,
        "error_log": root / "logs" / "placement-errors.jsonl",
        "access_log": root / "logs" / "access.log",
    }


def serve_command(site: dict, *extra) -> list:
    """``bx24 serve`` for the throwaway project, its logs in the temp folder."""
    return [
        *BX24,
        "serve",
        "--project",
        site["project"],
        "--error-log",
        site["error_log"],
        "--access-log",
        site["access_log"],
        *extra,
    ]


def env_for(site: dict) -> dict:
    return dict(os.environ, BX24_CACHE=str(site["cache"]))


def url_of(site: dict, prefix: str, rel: str) -> str:
    """The URL path under which the server serves ``rel`` of a layout prefix now."""
    build = site["site"].build()
    return "/" + build.urls[(prefix, rel)]


def npm_path(site: dict, package: str, path: str) -> str:
    return f"/runtime/npm/{package}@{site['versions'][package]}/{path}"


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def decoded(self) -> bytes:
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


def request(
    url: str,
    method: str = "GET",
    path: str = "/",
    headers: dict | None = None,
    body: bytes | str | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 10,
) -> Response:
    """One request on a fresh connection; ``path`` goes out exactly as given."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def raw_request(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return everything the server answers until it closes the connection."""
    with socket.create_connection(address(url), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body from a keep-alive stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def children(pid):
    """The child processes of ``pid`` (Linux: /proc)."""
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
