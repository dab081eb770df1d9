"""Nothing outside the served folders, bounded bodies, slow clients isolated, safety headers."""

import os
import socket
import subprocess
import sys
import time

import pytest

from bx24_server.background import ServerProcess, ServerThread
from bx24_server.config import Config
from server_helpers import (
    INDEX_HTML, SECRET, SERVER_PY, address, make_site, raw_request, request, server_args,
    status_of,
)

ESCAPES = [
    "/../outside/secret.txt",
    "/sub/../../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/%2E%2E/outside/secret.txt",
    "/.%2e/outside/secret.txt",
    "/%252e%252e/outside/secret.txt",
    "/%252e%252e%252foutside%252fsecret.txt",
    "/sub%2f..%2f..%2foutside%2fsecret.txt",
    "/..%2foutside%2fsecret.txt",
    "/..%5coutside%5csecret.txt",
    "/sub\\..\\..\\outside\\secret.txt",
    "/notes.txt%00.png",
    "/notes.txt\x00.png",  # a raw NUL byte in the request line
    "/%00/../outside/secret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "///etc/passwd",
    "/%c0%ae%c0%ae/outside/secret.txt",
    "/runtime/npm/pyodide@314.0.2/../../../../outside/secret.txt",
    "/runtime/npm/pyodide@314.0.2/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt",
    "/runtime/npm/..%2f..%2f..%2foutside@1/secret.txt",
    "/runtime/pypi/..%2f..%2f..%2foutside%2fsecret.txt",
    "/pylib/bx24/../../outside/secret.txt",
    "/emulator/../outside/secret.txt",
    "/emulator/%2e%2e/outside/secret.txt",
    "/link-out.txt",  # a symlink inside the frame folder pointing out of it
    "/dir-out/secret.txt",  # a symlinked folder pointing out
    "/.env",  # hidden files are never served
]


@pytest.mark.parametrize("path", ESCAPES)
def test_nothing_outside_the_served_folders_is_readable(server, path):
    raw = raw_request(server.url, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                      .encode())
    assert status_of(raw) in (400, 404), raw[:200]
    assert SECRET.encode() not in raw


def test_symlinks_inside_the_folder_still_work(server):
    assert request(server.url, path="/link-in.txt").text == "hi\n"


@pytest.mark.parametrize("path", ["/sub", "/sub/", "/runtime/", "/pylib/bx24/", "/runtime/npm/",
                                  "/runtime/npm/pyodide@314.0.2/", "/emulator//"])
def test_no_directory_listings(server, path):
    reply = request(server.url, path=path)
    assert reply.status == 404
    assert b"mod.py" not in reply.body and b"pyodide" not in reply.body


def test_declared_oversized_body_is_refused_before_it_is_sent(server):
    # Only the headers go out: the 413 must come without waiting for 100 KB that never arrive.
    with socket.create_connection(address(server.url), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        answer = sock.recv(65536)
    assert status_of(answer) == 413
    assert b"connection: close" in answer.lower()


def test_chunked_body_over_the_limit_is_counted_and_refused(server):
    chunk = b"A" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"
    raw = raw_request(server.url, b"POST /error-handler HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status_of(raw) == 413


def test_bodies_under_the_limit_are_fine(server):
    reply = request(server.url, "POST", "/", body=b"AUTH_ID=x&pad=" + b"A" * 60_000,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and reply.text == INDEX_HTML


def test_the_body_limit_is_configurable(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(server_args(site, "--max-body", "100"), script=SERVER_PY) as server:
        assert request(server.url, "POST", "/", body=b"A" * 100).status == 200
        assert request(server.url, "POST", "/", body=b"A" * 101).status == 413


def test_slow_clients_do_not_stall_others(server):
    stalled = []
    try:
        for _ in range(20):  # half a request line and headers, then nothing
            sock = socket.create_connection(address(server.url), timeout=5)
            sock.sendall(b"GET /main.py HTTP/1.1\r\nHost: x\r\nAccept-")
            stalled.append(sock)
        for _ in range(20):  # a body that trickles: 10 of 1000 promised bytes
            sock = socket.create_connection(address(server.url), timeout=5)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAUTH_ID=ab")
            stalled.append(sock)
        started = time.monotonic()
        for _ in range(10):
            assert request(server.url, timeout=2).status == 200
        assert time.monotonic() - started < 2
    finally:
        for sock in stalled:
            sock.close()


def test_unfinished_headers_are_cut_off(tmp_path):
    site = make_site(tmp_path)
    config = Config(port=0, frame_dir=site["frame"], access_log=None, cache_dir=None,
                    error_log=site["error_log"], header_timeout=0.5)
    with ServerThread(config) as server:
        with socket.create_connection(address(server.url), timeout=5) as idle, \
                socket.create_connection(address(server.url), timeout=5) as partial, \
                socket.create_connection(address(server.url), timeout=5) as keep_alive:
            partial.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            keep_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert keep_alive.recv(65536).startswith(b"HTTP/1.1 200")
            keep_alive.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request stalls
            started = time.monotonic()
            for sock in (idle, partial, keep_alive):
                assert sock.recv(65536) == b""  # closed by the server
            assert time.monotonic() - started < 3


def test_a_body_that_trickles_too_long_is_cut_off(tmp_path):
    site = make_site(tmp_path)
    config = Config(port=0, frame_dir=site["frame"], runtime_dir=site["runtime"],
                    access_log=None, cache_dir=None, error_log=site["error_log"],
                    body_timeout=0.5)
    with ServerThread(config) as server:
        with socket.create_connection(address(server.url), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAUTH_ID=ab")
            started = time.monotonic()
            answer = sock.recv(65536)
        assert status_of(answer) == 408
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "method, path, headers",
    [("GET", "/", {}), ("GET", "/main.py", {}), ("GET", "/nope", {}), ("DELETE", "/", {}),
     ("GET", "/healthz", {}), ("POST", "/error-handler", {}),
     ("GET", "/runtime/npm/pyodide@314.0.2/pyodide.mjs", {}),
     ("GET", "/main.py", {"If-None-Match": "*"}), ("GET", "/emulator", {})],
)
def test_safety_headers_on_every_response(server, method, path, headers):
    reply = request(server.url, method, path, headers=headers)
    assert reply.headers["x-content-type-options"] == "nosniff"
    csp = reply.headers["content-security-policy"]
    assert csp.startswith("frame-ancestors 'self' ")
    assert "https://*.bitrix24.ru" in csp and "https://*.bitrix24.com " in csp
    assert "https://*.bitrix24.com.br" in csp


def test_frame_ancestors_configurable_by_option_and_environment(tmp_path):
    site = make_site(tmp_path)
    option = "'self' https://crm.example.com"
    with ServerProcess(server_args(site, "--frame-ancestors", option), script=SERVER_PY) as srv:
        assert request(srv.url).headers["content-security-policy"] == f"frame-ancestors {option}"
    env = dict(os.environ, BX24_FRAME_ANCESTORS="https://b24.example.org")
    with ServerProcess(server_args(site), script=SERVER_PY, env=env) as srv:
        assert (request(srv.url).headers["content-security-policy"]
                == "frame-ancestors https://b24.example.org")


def test_a_malformed_frame_ancestors_value_is_a_clear_error(tmp_path):
    site = make_site(tmp_path)
    done = subprocess.run(
        [sys.executable, SERVER_PY, "--port", "0",
         *map(str, server_args(site, "--frame-ancestors", "https://a.example; script-src *"))],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert "frame ancestors" in done.stderr
