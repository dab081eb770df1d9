"""Nothing outside the served folders, bounded bodies, slow clients isolated, safety headers."""

import socket
import subprocess
import time

import pytest

from bx24_server.background import ServerProcess, ServerThread
from bx24_server.config import Config
from bx24_frame import layout
from server_helpers import (
    INDEX_MARK,
    SECRET,
    address,
    env_for,
    make_site,
    npm_path,
    raw_request,
    request,
    serve_command,
    status_of,
    url_of,
    write,
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
    "/app/notes.txt%00.png",
    "/app/notes.txt\x00.png",  # a raw NUL byte in the request line
    "/%00/../outside/secret.txt",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "///etc/passwd",
    "/%c0%ae%c0%ae/outside/secret.txt",
    "/runtime/npm/pyodide@VERSION/../../../../../../outside/secret.txt",
    "/runtime/npm/pyodide@VERSION/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt",
    "/runtime/npm/..%2f..%2f..%2foutside@1/secret.txt",
    "/runtime/pypi/..%2f..%2f..%2f..%2f..%2foutside%2fsecret.txt",
    "/runtime/snapshot/..%2f..%2f..%2f..%2foutside%2fsecret.txt",
    "/app/../../outside/secret.txt",
    "/app/%2e%2e/%2e%2e/outside/secret.txt",
    "/bx24/../../outside/secret.txt",
    "/emulator/../outside/secret.txt",
    "/emulator/%2e%2e/outside/secret.txt",
    "/app/.env",  # hidden files are never served
    "/.env",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_nothing_outside_the_served_folders_is_readable(server, site, path):
    path = path.replace("VERSION", site["versions"]["pyodide"])
    raw = raw_request(
        server.url, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert status_of(raw) in (400, 404), raw[:200]
    assert SECRET.encode() not in raw


@pytest.mark.parametrize(
    "path",
    [
        "/app",
        "/app/",
        "/app/sub/",
        "/runtime/",
        "/bx24/",
        "/runtime/npm/",
        "/runtime/npm/pyodide@VERSION/",
        "/runtime/snapshot/",
        "/emulator//",
    ],
)
def test_no_directory_listings(server, site, path):
    reply = request(server.url, path=path.replace("VERSION", site["versions"]["pyodide"]))
    assert reply.status == 404
    assert b"mod.py" not in reply.body and b"pyodide" not in reply.body


def test_declared_oversized_body_is_refused_before_it_is_sent(server):
    # Only the headers go out: the 413 must come without waiting for 100 KB that never arrive.
    with socket.create_connection(address(server.url), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        answer = sock.recv(65536)
    assert status_of(answer) == 413
    assert b"connection: close" in answer.lower()


def test_chunked_body_over_the_limit_is_counted_and_refused(server):
    chunk = b"A" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"
    raw = raw_request(
        server.url,
        b"POST /error-handler HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
    )
    assert status_of(raw) == 413


def test_bodies_under_the_limit_are_fine(server):
    reply = request(
        server.url,
        "POST",
        "/",
        body=b"AUTH_ID=x&pad=" + b"A" * 60_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200 and INDEX_MARK in reply.text


def test_the_body_limit_is_configurable(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site, "--max-body", "100"), env=env_for(site)) as server:
        assert request(server.url, "POST", "/", body=b"A" * 100).status == 200
        assert request(server.url, "POST", "/", body=b"A" * 101).status == 413


def test_slow_clients_do_not_stall_others(server):
    stalled = []
    try:
        for _ in range(20):  # half a request line and headers, then nothing
            sock = socket.create_connection(address(server.url), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nAccept-")
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
    config = Config(port=0, access_log=None, error_log=site["error_log"], header_timeout=0.5)
    with ServerThread(config, site["site"]) as server:
        with (
            socket.create_connection(address(server.url), timeout=5) as idle,
            socket.create_connection(address(server.url), timeout=5) as partial,
            socket.create_connection(address(server.url), timeout=5) as keep_alive,
        ):
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
    config = Config(port=0, access_log=None, error_log=site["error_log"], body_timeout=0.5)
    with ServerThread(config, site["site"]) as server:
        with socket.create_connection(address(server.url), timeout=5) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAUTH_ID=ab")
            started = time.monotonic()
            answer = sock.recv(65536)
        assert status_of(answer) == 408
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("GET", "/", {}),
        ("GET", "MAIN", {}),
        ("GET", "/nope", {}),
        ("DELETE", "/", {}),
        ("GET", "/healthz", {}),
        ("POST", "/error-handler", {}),
        ("GET", "PYODIDE", {}),
        ("GET", "MAIN", {"If-None-Match": "*"}),
        ("GET", "/emulator", {}),
    ],
)
def test_safety_headers_on_every_response(server, site, method, path, headers):
    path = {
        "MAIN": url_of(site, layout.APP, "main.py"),
        "PYODIDE": npm_path(site, "pyodide", "pyodide.mjs"),
    }.get(path, path)
    reply = request(server.url, method, path, headers=headers)
    assert reply.headers["x-content-type-options"] == "nosniff"
    csp = reply.headers["content-security-policy"]
    assert csp.startswith("frame-ancestors 'self' ")
    assert "https://*.bitrix24.ru" in csp and "https://*.bitrix24.com " in csp
    assert "https://*.bitrix24.com.br" in csp


def test_frame_ancestors_by_option_then_environment_then_bx24_toml(tmp_path):
    site = make_site(tmp_path)
    settings = site["project"] / "bx24.toml"
    write(
        settings,
        settings.read_text().replace(
            'app = "frame"', 'app = "frame"\nframe_ancestors = "https://from.settings.example"'
        ),
    )
    option = "'self' https://crm.example.com"
    with ServerProcess(serve_command(site, "--frame-ancestors", option), env=env_for(site)) as srv:
        assert request(srv.url).headers["content-security-policy"] == f"frame-ancestors {option}"
    env = dict(env_for(site), BX24_FRAME_ANCESTORS="https://b24.example.org")
    with ServerProcess(serve_command(site), env=env) as srv:
        assert (
            request(srv.url).headers["content-security-policy"]
            == "frame-ancestors https://b24.example.org"
        )
    with ServerProcess(serve_command(site), env=env_for(site)) as srv:
        assert (
            request(srv.url).headers["content-security-policy"]
            == "frame-ancestors https://from.settings.example"
        )


def test_a_malformed_frame_ancestors_value_is_a_clear_error(tmp_path):
    site = make_site(tmp_path)
    done = subprocess.run(
        [
            *map(str, serve_command(site, "--frame-ancestors", "https://a.example; script-src *")),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=env_for(site),
    )
    assert done.returncode == 2
    assert "frame ancestors" in done.stderr
