"""Several server processes on one listening socket: ``python server.py --workers N``.

Why: one process is one event loop on one core. Under many connections its tail latency grows
(p99 of a second at 200 connections on 2 cores, docs/performance.md "Server"); two workers take
it back to milliseconds. The parent binds and listens, forks the workers (each runs its own
uvicorn server and event loop on the inherited socket, the kernel hands each connection to
one of them), forwards SIGINT/SIGTERM to them, and replaces a worker that dies, as nginx's
master process does. Workers die with the parent however it ends (``kill -9`` included): each
watches a pipe whose writing end only the parent holds, and stops when it closes, so no orphan
keeps serving or holding the port. Needs ``os.fork`` (Linux, macOS).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Callable

log = logging.getLogger("bx24_server")

# A worker that exits on its own sooner than this after its start would fail again: the server
# stops instead of looping.
CRASH_AT_START_SECONDS = 2.0
BACKLOG = 2048  # uvicorn's default
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# SIGHUP: reopen the logs. The parent passes it on; a worker ignores it until its server
# handles it (its default action would stop the worker).
SIGNALS = STOP_SIGNALS + (signal.SIGHUP,)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _stop_with_parent(lifeline: int) -> None:
    """In a worker: SIGTERM ourselves once the parent's end of the ``lifeline`` pipe closes
    (the parent exited, however), so uvicorn shuts down as when the parent stops us."""

    def watch():
        try:
            os.read(lifeline, 1)  # returns b"" (EOF) only when no writer is left
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="bx24-lifeline", daemon=True).start()


def run_workers(count: int, serve: Callable[[], None], listening, on_ready=None) -> int:
    """Run ``serve()`` in ``count`` forked processes until SIGINT/SIGTERM; return the exit code.

    ``listening`` is the bound socket the workers share; it listens before the first fork, so
    connections wait in its backlog until a worker accepts them.
    """
    listening.listen(BACKLOG)
    workers: dict[int, float] = {}  # pid -> when it started
    stopping = False
    code = 0
    lifeline, parent_end = os.pipe()  # only the parent keeps parent_end

    def start() -> None:
        # Blocked across the fork: a stop signal that arrives before the worker has reset its
        # handlers must not run the parent's handler in the worker.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # the worker: default signals (uvicorn installs its own)
                for sig in STOP_SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        if pid == 0:
            os.close(parent_end)
            _stop_with_parent(lifeline)
            status = 0
            try:
                serve()
            except KeyboardInterrupt:
                pass
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                status = 1
            finally:
                os._exit(status)
        workers[pid] = time.monotonic()

    def stop(*_) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def hang_up(*_) -> None:
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGHUP)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, hang_up)
    try:
        for _ in range(count):
            start()
        if on_ready is not None:
            on_ready()
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            started = workers.pop(pid, None)
            if started is None or stopping:
                continue
            killed = os.WIFSIGNALED(status)  # by the OOM killer or a person: not its own fault
            if not killed and time.monotonic() - started < CRASH_AT_START_SECONDS:
                log.error(
                    "worker %d stopped at start (%s): stopping the server", pid, _describe(status)
                )
                code = 1
                stop()
            else:
                log.warning("worker %d stopped (%s): starting another", pid, _describe(status))
                start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(parent_end)
        os.close(lifeline)
    return code
