"""What one client can make the server spend is bounded: the size of a request's head, the time
an unread body or an unread answer may take, and the server's workers do not outlive it.
Every limit answers at once, with the security headers, and closes the connection."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess
from bx24_server.cli import default_workers
from server_helpers import (
    address,
    alive,
    children,
    env_for,
    make_site,
    npm_path,
    raw_request,
    request,
    serve_command,
    status_of,
    write,
)

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def head_with(extra: bytes) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"


@pytest.mark.parametrize(
    "extra, status",
    [
        (b"".join(b"X-H%d: v\r\n" % n for n in range(101)), 431),  # 101 header lines
        (b"X-Big: " + b"a" * 20_000 + b"\r\n", 431),  # one line over 16 KiB
        (b"".join(b"X-H%d: " % n + b"a" * 8_000 + b"\r\n" for n in range(10)), 431),  # 80 KB in all
    ],
)
def test_an_oversized_head_is_refused_at_once(server, extra, status):
    started = time.monotonic()
    answer = raw_request(server.url, head_with(extra))
    assert status_of(answer) == status, answer[:200]
    assert time.monotonic() - started < 2
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert b"connection: close" in head
    assert b"x-content-type-options: nosniff" in head and b"content-security-policy:" in head


def test_a_long_url_is_414(server):
    answer = raw_request(server.url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(answer) == 414


def test_heads_under_the_limits_are_fine(server):
    extra = b"".join(b"X-H%d: " % n + b"a" * 500 + b"\r\n" for n in range(90))
    assert status_of(raw_request(server.url, head_with(extra + b"Connection: close\r\n"))) == 200


def test_uvicorns_own_400_carries_the_security_headers(server):
    answer = raw_request(server.url, b"NOT A REQUEST\r\n\r\n")
    assert status_of(answer) == 400
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert b"x-content-type-options: nosniff" in head and b"referrer-policy: no-referrer" in head


@linux
def test_endless_header_lines_cannot_grow_the_server(server):
    """A few clients sending header bytes as fast as they can (no end of line): each is cut at
    64 KiB, and the server's memory stays where it was."""
    pid = server.process.pid  # one process: no --workers
    before = rss(pid)
    sent = 0
    for _ in range(5):
        with socket.create_connection(address(server.url), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            try:
                for _ in range(2000):  # up to 16 MB per connection
                    sock.sendall(b"a" * 8192)
                    sent += 8192
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = sock.recv(65536)
        assert status_of(answer) == 431
    assert sent < 5 * 2 * 2**20  # each was cut off long before its 16 MB
    assert rss(pid) - before < 20 * 2**20


def test_an_unread_body_that_trickles_does_not_hold_the_connection(server):
    with socket.create_connection(address(server.url), timeout=5) as sock:
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nx")
        started = time.monotonic()
        answer = b""
        try:
            while True:  # the answer, then the end of the connection: not a wait for 100 MB
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
                sock.sendall(b"y")  # trickling on
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed while we trickled: that is the point
    assert status_of(answer) == 404 and b"connection: close" in answer.lower()
    assert time.monotonic() - started < 3


def test_a_client_that_does_not_read_is_dropped_after_the_send_timeout(tmp_path):
    site = make_site(tmp_path)
    wasm = site["runtime"].package_dir("pyodide") / "pyodide.asm.wasm"
    write(wasm, os.urandom(48 * 2**20))  # more than every buffer on the way, incompressible
    site["runtime"].record()  # as `bx24 setup` would have (integrity is checked at start)
    with ServerProcess(serve_command(site, "--send-timeout", "1"), env=env_for(site)) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(address(server.url))
        sock.sendall(
            f"GET {npm_path(site, 'pyodide', 'pyodide.asm.wasm')} HTTP/1.1\r\n"
            "Host: x\r\n\r\n".encode()
        )
        time.sleep(2.5)  # the client reads nothing for longer than the send timeout, on purpose
        received = 0
        sock.settimeout(5)
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        sock.close()
        assert received < 48 * 2**20
        assert request(server.url, path="/healthz").status == 200  # the others are served


def test_hsts_over_tls_only(tmp_path, certificate):
    import ssl

    site = make_site(tmp_path)
    cert, key = certificate
    with ServerProcess(serve_command(site, "--cert", cert, "--key", key), env=env_for(site)) as tls:
        reply = request(tls.url, context=ssl.create_default_context(cafile=str(cert)))
        assert reply.headers["strict-transport-security"] == "max-age=31536000"
    with ServerProcess(
        serve_command(site, "--cert", cert, "--key", key, "--hsts-max-age", "0"), env=env_for(site)
    ) as tls:
        reply = request(tls.url, context=ssl.create_default_context(cafile=str(cert)))
        assert "strict-transport-security" not in reply.headers
    with ServerProcess(serve_command(site), env=env_for(site)) as plain:
        assert "strict-transport-security" not in request(plain.url).headers


def port_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@linux
def test_a_killed_master_leaves_no_worker_and_a_free_port(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site, "--workers", "2"), env=env_for(site)) as server:
        master = server.process.pid
        deadline = time.monotonic() + 10
        while len(children(master)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # the process table has nothing to wait on
        workers = children(master)
        assert len(workers) == 2
        port = address(server.url)[1]
        os.kill(master, signal.SIGKILL)
        server.process.wait(5)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in workers)
        assert port_free(port)


def test_workers_default_to_one_per_core_off_loopback():
    assert default_workers("127.0.0.1") == default_workers("localhost") == 1
    assert default_workers("::1") == 1
    assert default_workers("0.0.0.0") == (os.cpu_count() or 1)
    assert default_workers("frame.example.com") == (os.cpu_count() or 1)
