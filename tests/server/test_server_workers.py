"""``--workers N``: N processes share the port, die together on SIGTERM, and a killed one is
replaced; a worker that fails at start stops the server instead of looping."""

import os
import signal
import socket
import sys
import time
import urllib.request

import pytest

from bx24_frame.cli import main
from bx24_server.background import ServerProcess
from bx24_server.workers import run_workers
from server_helpers import alive, children, env_for, make_site, serve_command

# Workers need fork; these tests watch them in /proc.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def wait_until(condition, what, timeout=10.0):
    """Poll a process-table condition (nothing to subscribe to) until true or the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def healthz(url):
    with urllib.request.urlopen(url + "healthz", timeout=5) as response:
        return response.status, response.read()


@pytest.fixture
def server(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site, "--workers", "2"), env=env_for(site)) as process:
        wait_until(lambda: len(children(process.process.pid)) == 2, "two workers")
        yield process


def test_workers_share_the_port_and_stop_together(server):
    workers = children(server.process.pid)
    assert all(healthz(server.url) == (200, b"ok\n") for _ in range(20))
    assert server.stop() == 0
    assert not any(alive(pid) for pid in workers)


def test_a_killed_worker_is_replaced(server):
    parent = server.process.pid
    victim = min(children(parent))
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: victim not in children(parent) and len(children(parent)) == 2,
        "a new worker in place of the killed one",
    )
    assert all(healthz(server.url)[0] == 200 for _ in range(20))
    assert "starting another" in server.stderr()


# These two fork this test process; its other children (servers of other tests) stay.
def test_a_worker_that_fails_at_start_stops_the_server():
    def serve():
        raise RuntimeError("cannot serve")

    before = children(os.getpid())
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        assert run_workers(2, serve, listening) == 1
    assert children(os.getpid()) <= before  # every worker exited and was reaped


def test_a_stop_signal_ends_every_worker():
    before = children(os.getpid())
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        code = run_workers(
            2, signal.pause, listening, on_ready=lambda: os.kill(os.getpid(), signal.SIGTERM)
        )
    assert code == 0
    assert children(os.getpid()) <= before


def test_workers_must_be_at_least_one(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--workers", "0"])
    assert exit_.value.code == 2
    assert "at least 1 worker" in capsys.readouterr().err
