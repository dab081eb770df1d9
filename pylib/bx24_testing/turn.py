"""A TURN server for end-to-end tests of the softphone behind strict networks: Debian's coturn
(``apt-get install coturn``) on free loopback ports, as its own instance (no config file, no
database, nothing of the system's), stopped with the test.

    with TurnServer() as turn:
        ice_servers = turn.ice_servers("operator-101")   # short-lived credentials, as a server
                                                         # hands them out (TURN REST API)

Credentials: coturn's ``use-auth-secret`` (the TURN REST API a production deployment uses):
``username = "<expiry>:<name>"``, ``credential = base64(HMAC-SHA1(secret, username))``. The
secret stays here, like on your server; the browser only ever gets the short-lived pair.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .loopback import free_udp_port, stop

START_TIMEOUT_S = 5.0


class TurnServerError(RuntimeError):
    pass


def turnserver_binary() -> str:
    found = shutil.which("turnserver") or (
        "/usr/bin/turnserver" if Path("/usr/bin/turnserver").exists() else None
    )
    if found is None:
        raise TurnServerError(
            "coturn is not installed: `apt-get install coturn` (`./dev.sh test` does it)"
        )
    return found


class TurnServer:
    """coturn on ``turn:127.0.0.1:<port>`` (UDP and TCP), relaying to loopback peers."""

    def __init__(self, realm: str = "bx24.test"):
        self.realm = realm
        self.secret = secrets.token_hex(16)
        self.port = free_udp_port()
        self._dir = Path(tempfile.mkdtemp(prefix="bx24-coturn-"))
        self._log = self._dir / "turn.log"
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}"

    def credentials(self, name: str, ttl_s: int = 600) -> tuple[str, str]:
        """``(username, credential)`` valid for ``ttl_s`` (coturn's TURN REST API)."""
        username = f"{int(time.time()) + ttl_s}:{name}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()

    def ice_servers(self, name: str, ttl_s: int = 600) -> list[dict]:
        """What ``bx24.page.sip_softphone(ice_servers=...)`` takes, for ``name``."""
        username, credential = self.credentials(name, ttl_s)
        return [{"urls": [self.url], "username": username, "credential": credential}]

    def start(self) -> "TurnServer":
        """Start coturn (once); :class:`TurnServerError` with its log if it cannot."""
        low = 49152 + (self.port % 1000) * 10  # a small relay range of its own
        command = [
            turnserver_binary(),
            "-n",  # no configuration file
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={self.port}",
            f"--min-port={low}",
            f"--max-port={low + 9}",
            "--allow-loopback-peers",
            "--use-auth-secret",
            f"--static-auth-secret={self.secret}",
            f"--realm={self.realm}",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--no-stun-backward-compatibility",
            f"--pidfile={self._dir / 'turn.pid'}",
            f"--db={self._dir / 'turndb'}",
            f"--log-file={self._log}",
            "--simple-log",
            "--verbose",
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise TurnServerError(
                    f"turnserver exited ({self._process.returncode}):\n" + self.log()[-4000:]
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TurnServerError(f"turnserver did not listen on {self.port}:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        """Stop coturn."""
        stop(self._process)
        self._process = None

    def log(self) -> str:
        """coturn's log so far."""
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def allocations(self) -> int:
        """How many relay allocations it made (its log says so)."""
        return self.log().count("ALLOCATE processed, success")

    def __enter__(self) -> "TurnServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
