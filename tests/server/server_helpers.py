"""A throwaway site to serve, and small HTTP clients that send exactly the bytes a test means."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import os
import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
SERVER_PY = REPO / "server.py"

INDEX_HTML = "<!doctype html><title>frame</title><body hidden></body>\n"
# Big and repetitive enough to compress well; text types are compressed from 1 KiB on.
MAIN_PY = "from bx24 import card\n" + "# a comment that repeats\n" * 200
WASM = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 64  # 16 KiB, compresses
SNAPSHOT = bytes(4096) + b"heap" * 2048
CORE_JS = "export const core = 1;\n" * 100
VERSIONS = {"@pyscript/core": "0.7.31", "pyodide": "314.0.2"}
WHEEL = "pyodide_http-0.2.2-py3-none-any.whl"
SECRET = "TOP-SECRET-FILE-CONTENT"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_site(root: Path) -> dict[str, Path]:
    """Folders laid out like the repo's, with our own small files, plus traps outside them."""
    frame = root / "frame"
    write(frame / "index.html", INDEX_HTML)
    write(frame / "main.py", MAIN_PY)
    write(frame / "boot.js", "console.log('boot');\n")
    write(frame / "settings.toml", 'interpreter = "x"\n')
    write(frame / "data.json", json.dumps({"k": list(range(400))}))
    write(frame / "style.css", "body { color: red }\n")
    write(frame / "app.mjs", "export {};\n")
    write(frame / "logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    write(frame / "logo.png", b"\x89PNG\r\n\x1a\n")
    write(frame / "notes.txt", "hi\n")
    write(frame / "lib.zip", b"PK\x05\x06" + bytes(18))
    write(frame / "x.map", "{}")
    write(frame / "sub" / "mod.py", "X = 1\n")
    write(frame / ".env", SECRET)
    runtime = root / "runtime"
    node_modules = runtime / "node_modules"
    write(node_modules / "pyodide" / "package.json", json.dumps({"version": "314.0.2"}))
    write(node_modules / "pyodide" / "pyodide.asm.wasm", WASM)
    write(node_modules / "pyodide" / "pyodide.mjs", "export const version = '314.0.2';\n")
    write(node_modules / "@pyscript" / "core" / "package.json", json.dumps({"version": "0.7.31"}))
    write(node_modules / "@pyscript" / "core" / "dist" / "core.js", CORE_JS)
    # Deflated archives do not shrink again: random bytes stand for one.
    wheel = write(runtime / "wheels" / WHEEL, b"PK\x03\x04" + os.urandom(8192))
    write(runtime / "snapshot" / "manifest.json", json.dumps({"snapshot": "t/py.snapshot"}))
    write(runtime / "snapshot" / "t" / "py.snapshot", SNAPSHOT)
    bx24 = root / "pylib" / "bx24"
    write(bx24 / "__init__.py", "VERSION = 1\n")
    write(bx24 / "bridge.js", "window.bx24Bridge = {};\n")
    emulator = root / "emulator"
    write(emulator / "index.html", "<!doctype html><title>emulator</title>\n")
    write(emulator / "emulator.js", "// emulator\n")
    outside = write(root / "outside" / "secret.txt", SECRET)
    (frame / "link-out.txt").symlink_to(outside)
    (frame / "dir-out").symlink_to(outside.parent, target_is_directory=True)
    (frame / "link-in.txt").symlink_to(frame / "notes.txt")
    return {
        "root": root, "frame": frame, "runtime": runtime, "bx24": bx24, "emulator": emulator,
        "wheel": wheel, "outside": outside,
        "error_log": root / "logs" / "placement-errors.jsonl",
        "access_log": root / "logs" / "access.log", "cache": root / "cache",
    }


def server_args(site: dict[str, Path], *extra: str) -> list[str]:
    return [
        "--frame", site["frame"], "--runtime", site["runtime"], "--bx24", site["bx24"],
        "--emulator", site["emulator"], "--error-log", site["error_log"],
        "--access-log", site["access_log"], "--cache-dir", site["cache"], *extra,
    ]


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


def request(url: str, method: str = "GET", path: str = "/", headers: dict | None = None,
            body: bytes | str | None = None, context: ssl.SSLContext | None = None,
            timeout: float = 10) -> Response:
    """One request on a fresh connection; ``path`` goes out exactly as given."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=context)
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
