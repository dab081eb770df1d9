"""A real SIP server and real SIP phones for end-to-end tests of a frame's softphone.

:class:`SipServer` runs Debian's Kamailio (``apt-get install kamailio
kamailio-websocket-modules``) on a free loopback port with the kit's config
(``kamailio.cfg``: registrar and location in memory, SIP over WebSocket, every REGISTER
challenged for :attr:`SipServer.password`; ``SipServer(tls=True)``: over WSS, with the kit's
loopback certificate, which the kit's Chromium trusts); media flows browser to browser.
:class:`SipPhone` is a JsSIP phone in a Playwright page of its own: the customer who calls the
operator, or whom the operator calls or transfers to.

    with SipServer() as sip:
        customer = SipPhone.open(browser.new_page(), jssip_from=frame, server=sip, user="200")
        customer.wait_registered()
        call = customer.call("101")
        ...
        assert sip.contacts("101") == [...]   # who is registered, from Kamailio itself

Chromium needs the flags of :data:`bx24_testing.browser.MEDIA_ARGS` (a fake microphone, loopback
ICE); the kit's launch arguments have them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONFIG = Path(__file__).with_name("kamailio.cfg")
# a loopback certificate and its key, for tests only (bx24_testing.browser.TEST_TLS_SPKI)
TEST_CERT = Path(__file__).with_name("test-tls.crt")
TEST_KEY = Path(__file__).with_name("test-tls.key")
DEFAULT_PASSWORD = "bx24-test"
START_TIMEOUT_S = 5.0
WAIT_MS = 10_000


class SipServerError(RuntimeError):
    pass


def kamailio_binary() -> str:
    for candidate in (shutil.which("kamailio"), "/usr/sbin/kamailio"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SipServerError(
        "kamailio is not installed: `apt-get install kamailio "
        "kamailio-websocket-modules` (./dev.sh test does it)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SipServer:
    """Kamailio on ``ws://127.0.0.1:<port>``; :meth:`start`/:meth:`stop` (or ``with``),
    :meth:`contacts` (the location table), :meth:`log` (its output)."""

    domain = "127.0.0.1"

    def __init__(
        self, password: str = DEFAULT_PASSWORD, port: int | None = None, tls: bool = False
    ):
        self.password = password
        self.port = port or _free_port()
        # WSS with the kit's test certificate (TEST_CERT: the kit's Chromium trusts its key)
        self.tls = tls
        self._dir = Path(tempfile.mkdtemp(prefix="bx24-kamailio-"))
        self._process: subprocess.Popen | None = None
        self._log_path = self._dir / "kamailio.log"

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def uri(self, user: str) -> str:
        """The SIP address of ``user`` here (``sip:<user>@127.0.0.1``)."""
        return f"sip:{user}@{self.domain}"

    def start(self) -> "SipServer":
        """Start Kamailio (once); :class:`SipServerError` with its output if it cannot."""
        if self._process is not None and self._process.poll() is None:
            return self
        binary = kamailio_binary()
        control = self._dir / "ctl"
        command = [
            binary,
            "-DD",
            "-E",
            "-f",
            str(CONFIG),
            "-l",
            f"{'tls' if self.tls else 'tcp'}:127.0.0.1:{self.port}",
            "-Y",
            str(self._dir),
            "-P",
            str(self._dir / "kamailio.pid"),
            "-A",
            f'CTL_SOCKET="unix:{control}"',
            "-A",
            f'SIP_PASSWORD="{self.password}"',
        ]
        if self.tls:
            tls_cfg = self._dir / "tls.cfg"
            tls_cfg.write_text(
                "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
                f"require_certificate = no\ncertificate = {TEST_CERT}\n"
                f"private_key = {TEST_KEY}\n"
            )
            command += ["-A", "WITH_TLS", "-A", f'TLS_CFG="{tls_cfg}"']
        log = open(self._log_path, "ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SipServerError(
                    f"kamailio exited ({self._process.returncode}):\n" + self.log()[-4000:]
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                if control.exists():
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise SipServerError(
            f"kamailio did not listen on {self.port} within "
            f"{START_TIMEOUT_S} s:\n" + self.log()[-4000:]
        )

    def stop(self) -> None:
        """Stop Kamailio (its WebSockets close: the phones see the server gone)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "SipServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log(self) -> str:
        """Kamailio's output so far."""
        try:
            return self._log_path.read_text(errors="replace")
        except OSError:
            return ""

    def registers(self, user: str) -> int:
        """How many REGISTERs of ``user`` Kamailio accepted (refreshes included)."""
        return self.log().count(f"bx24: REGISTER {self.uri(user)} ")

    def contacts(self, user: str | None = None) -> list[str]:
        """The contacts registered now (of ``user``, or all): Kamailio's location table."""
        if self._process is None:
            return []
        kamcmd = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
        out = subprocess.run(
            [kamcmd, "-s", f"unix:{self._dir / 'ctl'}", "ul.dump"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        contacts, aor = [], None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("AoR:"):
                aor = line.split(":", 1)[1].strip()
            elif line.startswith("Address:") and (user is None or aor == user):
                contacts.append(line.split(":", 1)[1].strip())
        return contacts


# The caller's page: sip.mjs (the frame's own glue) over the frame's JsSIP bundle, every event
# kept in window.sipEvents.
_PHONE_JS = """async ([glue, jssip, options]) => {
  const { createPhone } = await import(glue);
  window.sipEvents = [];
  window.sipPhone = await createPhone(jssip, JSON.stringify(options),
                                      (text) => window.sipEvents.push(JSON.parse(text)));
}"""


class SipPhone:
    """A JsSIP phone in its own page (the customer): :meth:`call`, :meth:`answer`,
    :meth:`hang_up`, :meth:`events`, :meth:`stats`; it follows transfers (REFER)."""

    def __init__(self, page, user: str):
        self.page = page
        self.user = user

    @classmethod
    def open(
        cls,
        page,
        frame,
        server: SipServer,
        user: str,
        password: str | None = None,
        dtmf: str = "info",
    ) -> "SipPhone":
        """A phone for ``user`` in ``page``, with the JsSIP of ``frame`` (a loaded frame: its
        server serves the bundle); the page is on the frame's origin (a secure context)."""
        boot = json.loads(frame.evaluate("document.getElementById('bx24-boot').textContent"))
        base = frame.evaluate("document.baseURI")
        origin = base.split("/", 3)[:3]
        page.goto("/".join(origin) + "/healthz")
        absolute = [
            page.evaluate("([u, b]) => new URL(u, b).href", [url, base])
            for url in (boot["sip"]["glue"], boot["sip"]["jssip"])
        ]
        page.evaluate(
            _PHONE_JS,
            [
                *absolute,
                {
                    "server": server.url,
                    "uri": server.uri(user),
                    "password": server.password if password is None else password,
                    "displayName": f"Customer {user}",
                    "dtmf": dtmf,
                    "acceptTransfers": True,
                },
            ],
        )
        return cls(page, user)

    def events(self, type: str | None = None) -> list[dict]:
        """The phone's events so far (of ``type``), as sip.mjs reports them."""
        found = self.page.evaluate("window.sipEvents")
        return [e for e in found if type is None or e["type"] == type]

    def wait_event(self, type: str, timeout_ms: int = WAIT_MS, **fields) -> dict:
        """The first event of ``type`` (with ``fields``), waiting for it."""
        self.page.wait_for_function(
            "([type, fields]) => window.sipEvents.some(e => e.type === type && "
            "Object.entries(fields).every(([k, v]) => e[k] === v))",
            arg=[type, fields],
            timeout=timeout_ms,
        )
        return [e for e in self.events(type) if all(e.get(k) == v for k, v in fields.items())][0]

    def wait_registered(self, timeout_ms: int = WAIT_MS) -> None:
        """Wait until the phone is registered."""
        self.wait_event("registration", timeout_ms, state="registered")

    def call(self, user: str, server: SipServer) -> str:
        """Call ``user`` at ``server``; the call's id."""
        return self.page.evaluate("(t) => window.sipPhone.call(t)", server.uri(user))

    def answer(self, id: str) -> None:
        """Answer the call ``id``."""
        self.page.evaluate("(id) => window.sipPhone.answer(id)", id)

    def hang_up(self, id: str) -> None:
        """Hang up the call ``id``."""
        self.page.evaluate("(id) => window.sipPhone.hangup(id)", id)

    def reject(self, id: str, code: int = 486) -> None:
        """Reject the ringing call ``id`` with ``code``."""
        self.page.evaluate("([id, code]) => window.sipPhone.reject(id, code)", [id, code])

    def stats(self, id: str) -> dict:
        """The call's RTP bytes and audio energy, both ways (getStats)."""
        return self.page.evaluate("(id) => window.sipPhone.stats(id)", id)

    def direction(self, id: str):
        """The call's transceiver direction (``sendrecv``, ``recvonly``...)."""
        return self.page.evaluate("(id) => window.sipPhone.direction(id)", id)

    def stop(self) -> None:
        """Unregister and close the phone's WebSocket."""
        self.page.evaluate("window.sipPhone && window.sipPhone.stop()")
