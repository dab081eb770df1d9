"""Running the server for tests, the pytest plugin and benchmarks: in a thread of this process
(:class:`ServerThread`), or as a real command in a child process (:class:`ServerProcess`)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time

from .app import create_app
from .config import Config
from .serving import Server, bind_socket, url_of, uvicorn_config

BANNER = re.compile(r"^Serving the Bitrix24 worker frame on (\S+)$")


class ServerThread:
    """``with ServerThread(config, site) as server:`` serves ``site`` with ``config`` at
    ``server.url`` (port 0 → a free port) until the block ends; ``server.app`` is the running
    ASGI app."""

    def __init__(self, config: Config, site, startup_timeout: float = 10.0):
        self.config = config
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self.port: int | None = None
        self.app = create_app(config, site)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> "ServerThread":
        ready = threading.Event()
        sock = bind_socket(self.config)
        self.port = sock.getsockname()[1]
        self.url = url_of(self.config, sock)
        self._server = Server(uvicorn_config(self.config, self.app), on_ready=ready.set)

        server = self._server

        def run():
            try:
                server.run(sockets=[sock])
            except BaseException as error:  # reported by __enter__, not lost in the thread
                self._error = error
            finally:
                sock.close()
                ready.set()

        self._thread = threading.Thread(target=run, name=f"bx24-server-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(self.startup_timeout) or not self._server.started:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the server did not start: {self._error!r}")
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


class ServerProcess:
    """``with ServerProcess(["bx24", "serve", "--project", d]) as server:`` runs the command
    with ``--port 0`` added, waits for its banner and exposes ``url``; its stdout and stderr are
    collected for assertions (``stdout()``)."""

    def __init__(self, command, *, env=None, cwd=None, startup_timeout: float = 20.0):
        self.command = [*map(str, command), "--port", "0"]
        self.env = env
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        self.process: subprocess.Popen | None = None
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()

    def __enter__(self) -> "ServerProcess":
        env = dict(os.environ if self.env is None else self.env, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        for stream, sink in ((self.process.stdout, self._out), (self.process.stderr, self._err)):
            threading.Thread(target=self._collect, args=(stream, sink), daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        with self._changed:
            while self.url is None:
                left = deadline - time.monotonic()
                if self.process.poll() is not None or left <= 0:
                    self._changed.wait(0.2)  # let the readers catch the last words
                    self.__exit__(None, None, None)
                    raise RuntimeError(
                        f"{' '.join(self.command)} did not start (exit {self.process.returncode})"
                        f"\nstdout:\n{self.stdout()}\nstderr:\n{self.stderr()}"
                    )
                self._changed.wait(min(left, 0.2))
        return self

    def _collect(self, stream, sink: list[str]) -> None:
        for line in stream:
            with self._changed:
                sink.append(line)
                match = BANNER.match(line.rstrip("\n"))
                if match and self.url is None and sink is self._out:
                    self.url = match.group(1)
                self._changed.notify_all()

    def stdout(self) -> str:
        with self._changed:
            return "".join(self._out)

    def stderr(self) -> str:
        with self._changed:
            return "".join(self._err)

    def stop(self, timeout: float = 10.0) -> int:
        """Ask the server to stop (SIGTERM, as a service manager would) and wait for it."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __exit__(self, *exc) -> None:
        self.stop()
