"""TLS, many keep-alive clients at once, and the command line itself."""

import asyncio
import concurrent.futures
import gzip
import http.client
import signal
import ssl
import subprocess
import time

import pytest

from bx24_server.background import ServerProcess
from server_helpers import (
    INDEX_MARK,
    MAIN_PY,
    address,
    env_for,
    make_site,
    npm_path,
    read_response,
    request,
    serve_command,
    url_of,
)


def test_tls_when_cert_and_key_are_given(tmp_path, certificate):
    cert, key = certificate
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site, "--cert", cert, "--key", key), env=env_for(site)) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        reply = request(srv.url, context=context)
        assert reply.status == 200 and INDEX_MARK in reply.text
        with pytest.raises(ssl.SSLError):  # an unknown certificate is refused: it is real TLS
            request(srv.url, context=ssl.create_default_context())
        plain = srv.url.replace("https://", "http://")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            request(plain, timeout=3)  # plain HTTP is not answered on the TLS port


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--cert", "/nonexistent/cert.pem", "--key", "/nonexistent/key.pem"], "not found"),
        (["--cert", "/etc/hostname"], "both"),
        (["--port", "70000"], "TCP port"),
        (["--max-body", "-1"], ">= 0"),
        (["--project", "/nonexistent"], "no main.py in /nonexistent/frame"),
    ],
)
def test_bad_command_lines_fail_clearly(tmp_path, extra, message):
    site = make_site(tmp_path)
    done = subprocess.run(
        [*map(str, serve_command(site, *extra))],
        capture_output=True,
        text=True,
        timeout=30,
        env=env_for(site),
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_serving_without_the_runtime_says_to_run_setup(tmp_path):
    site = make_site(tmp_path)
    env = dict(env_for(site), BX24_CACHE=str(tmp_path / "empty-cache"))
    done = subprocess.run(
        [*map(str, serve_command(site))], capture_output=True, text=True, timeout=30, env=env
    )
    assert done.returncode == 2
    assert "run `bx24 setup`" in done.stderr


def test_a_bad_certificate_fails_clearly(tmp_path):
    site = make_site(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    done = subprocess.run(
        [*map(str, serve_command(site, "--cert", junk, "--key", junk))],
        capture_output=True,
        text=True,
        timeout=30,
        env=env_for(site),
    )
    assert done.returncode == 2 and "TLS" in done.stderr


def test_banner_names_the_frame_and_the_emulator(server):
    deadline = time.monotonic() + 5
    while len(server.stdout().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the reader thread may not have collected the second line yet
    lines = server.stdout().splitlines()
    assert lines[0] == f"Serving the Bitrix24 worker frame on {server.url}"
    assert lines[1].endswith(f"{server.url}emulator/")


def test_the_emulator_is_off_unless_asked_for(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site), env=env_for(site)) as srv:
        assert "emulator" not in srv.stdout()
        assert request(srv.url, path="/emulator/").status == 404
        page = request(srv.url, path="/?emulator").text
        assert "bx24-stub" not in page and "https://api.bitrix24.com/api/v1/" in page


def test_stops_cleanly_on_sigterm(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site), env=env_for(site)) as srv:
        assert request(srv.url).status == 200
        code = srv.stop()
        # uvicorn shuts down gracefully, then (since 0.29) lets SIGTERM end the process.
        assert code in (0, -signal.SIGTERM), srv.stderr()
        assert "Traceback" not in srv.stderr()


def test_200_concurrent_keep_alive_clients(server, site):
    host, port = address(server.url)
    requests = [
        "/",
        url_of(site, "app/", "main.py"),
        npm_path(site, "pyodide", "pyodide.asm.wasm"),
        "/healthz",
    ]

    async def run():
        # All 200 connect first and stay open, then each sends its requests on its connection.
        connections = await asyncio.gather(
            *(asyncio.open_connection(host, port) for _ in range(200))
        )

        async def use(reader, writer):
            try:
                answers = []
                for path in requests:
                    writer.write(
                        f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n".encode()
                    )
                    await writer.drain()
                    answers.append(await read_response(reader))
                return answers
            finally:
                writer.close()

        return await asyncio.wait_for(
            asyncio.gather(*(use(r, w) for r, w in connections)), timeout=30
        )

    # In a thread of its own: the browser tests of the same session keep an event loop running
    # in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, run()).result()
    assert len(results) == 200
    for answers in results:
        assert [status for status, _, _ in answers] == [200, 200, 200, 200]
        assert INDEX_MARK in gzip.decompress(answers[0][2]).decode()
        assert answers[1][1]["content-encoding"] == "gzip"
    assert "ERROR" not in server.stderr() and "Traceback" not in server.stderr()
    assert all(gzip.decompress(a[1][2]).decode() == MAIN_PY for a in results)
