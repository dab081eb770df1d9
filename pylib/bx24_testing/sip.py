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
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .loopback import free_port_both, free_tcp_port, free_udp_port, stop

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


class SipServer:
    """Kamailio on ``ws://127.0.0.1:<port>``; :meth:`start`/:meth:`stop` (or ``with``),
    :meth:`contacts` (the location table), :meth:`log` (its output). For a broken link:
    :meth:`kill` (a crash; :meth:`start` again on the same port), :meth:`refuse_registrations`
    (401/403/408... to every REGISTER), ``register_expires`` (grant short registrations, so
    refreshes come within seconds); with ``media_relay``, :meth:`relay_packets`."""

    domain = "127.0.0.1"

    def __init__(
        self,
        password: str = DEFAULT_PASSWORD,
        port: int | None = None,
        tls: bool = False,
        media_relay: bool = False,
        register_expires: int | None = None,
    ):
        self.password = password
        self.port = port or free_tcp_port()
        # WSS with the kit's test certificate (TEST_CERT: the kit's Chromium trusts its key)
        self.tls = tls
        # rtpengine between browsers (DTLS-SRTP, ICE) and plain SIP phones (RTP/AVP, over UDP
        # at plain_port: baresip), as a production edge has it
        self.media_relay = media_relay
        self.plain_port = free_udp_port() if media_relay else None
        # the longest registration granted (seconds): JsSIP refreshes 5 s before its end
        self.register_expires = register_expires
        self._rtpengine: subprocess.Popen | None = None
        self._ng = 0
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
        if self.media_relay:
            if self._rtpengine is None or self._rtpengine.poll() is not None:
                self._ng = self._start_rtpengine()
            ng = self._ng
            command += ["-l", f"udp:127.0.0.1:{self.plain_port}"]
            command += ["-A", "WITH_RTPENGINE", "-A", f'RTPENGINE_SOCK="udp:127.0.0.1:{ng}"']
        if self.register_expires:
            command += ["-A", f"REGISTER_EXPIRES={int(self.register_expires)}"]
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
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its children in its group: kill() takes them all
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

    def _start_rtpengine(self) -> int:
        """rtpengine in user space (no kernel module) on loopback: its control port."""
        binary = shutil.which("rtpengine") or "/usr/bin/rtpengine"
        if not Path(binary).exists():
            raise SipServerError(
                "rtpengine is not installed: `apt-get install rtpengine-daemon` "
                "(`./dev.sh test` does it)"
            )
        ng = free_udp_port()
        # a media port range of its own: 4 ports a call, a call's held 30 s after its BYE
        low = 30000 + (ng % 90) * 200
        log = open(self._dir / "rtpengine.log", "ab")
        self._rtpengine = subprocess.Popen(
            [
                binary,
                "--config-file=none",
                "--interface=127.0.0.1",
                f"--listen-ng=127.0.0.1:{ng}",
                "--table=-1",
                "--no-fallback",
                "--foreground",
                "--log-stderr",
                f"--port-min={low}",
                f"--port-max={low + 199}",
                f"--pidfile={self._dir / 'rtpengine.pid'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Startup complete" not in self.rtpengine_log():
            if self._rtpengine.poll() is not None or time.monotonic() > deadline:
                raise SipServerError("rtpengine did not start:\n" + self.rtpengine_log()[-4000:])
            time.sleep(0.02)
        return ng

    def relay_packets(self) -> dict[str, int]:
        """With ``media_relay``: the RTP packets rtpengine has received so far from each side,
        over all its calls: ``{"plain": n, "browser": n}`` (its own counters, asked over its
        control protocol): a side on hold (``a=recvonly``) stops sending, a resumed one
        starts again."""
        totals = {"plain": 0, "browser": 0}
        for call_id in _ng(self._ng, {"command": "list"}).get("calls", []):
            found = _ng(self._ng, {"command": "query", "call-id": call_id})
            for tag in found.get("tags", {}).values():
                for media in tag.get("medias", []):
                    side = "plain" if media.get("protocol") == b"RTP/AVP" else "browser"
                    for stream in media.get("streams", []):
                        if b"RTP" in stream.get("flags", []):
                            totals[side] += stream.get("stats", {}).get("packets", 0)
        return totals

    def rtpengine_log(self) -> str:
        """rtpengine's output so far (with ``media_relay``)."""
        try:
            return (self._dir / "rtpengine.log").read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """Kamailio dies at once (SIGKILL to each of its processes), as a SIP edge that crashes
        or reboots: its WebSockets drop and its location table is gone; rtpengine goes on, and
        the calls' media with it. :meth:`start` brings it back on the same port."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        self._process = None
        (self._dir / "ctl").unlink(missing_ok=True)  # the next one's socket, when it is there

    def stop(self) -> None:
        """Stop Kamailio (its WebSockets close: the phones see the server gone), and
        rtpengine."""
        for process in (self._process, self._rtpengine):
            stop(process)
        self._process = self._rtpengine = None

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

    def refuse_registrations(self, code: int = 0) -> None:
        """Answer every REGISTER from now on with ``code`` (403, 408, 503...; 401: a digest
        challenge whatever the answer, as after a password change); ``0``: as usual again."""
        self._kamcmd("pv.shvSet", "register_reply", "int", str(int(code)))

    def _kamcmd(self, *command: str) -> str:
        kamcmd = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
        return subprocess.run(
            [kamcmd, "-s", f"unix:{self._dir / 'ctl'}", *command],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout

    def registers(self, user: str) -> int:
        """How many REGISTERs of ``user`` Kamailio accepted (refreshes included)."""
        return self.log().count(f"bx24: REGISTER {self.uri(user)} ")

    def contacts(self, user: str | None = None) -> list[str]:
        """The contacts registered now (of ``user``, or all): Kamailio's location table."""
        if self._process is None:
            return []
        out = self._kamcmd("ul.dump")
        contacts, aor = [], None
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("AoR:"):
                aor = line.split(":", 1)[1].strip()
            elif line.startswith("Address:") and (user is None or aor == user):
                contacts.append(line.split(":", 1)[1].strip())
        return contacts


def _bencode(value) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(map(_bencode, value)) + b"e"
    return b"d" + b"".join(_bencode(k) + _bencode(v) for k, v in sorted(value.items())) + b"e"


def _bdecode(data: bytes, at: int = 0):
    """(value, end) of the bencoded value at ``at`` (dict keys as text, strings as bytes)."""
    kind = data[at : at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        items, at = [], at + 1
        while data[at : at + 1] != b"e":
            item, at = _bdecode(data, at)
            items.append(item)
        if kind == b"l":
            return items, at + 1
        return {k.decode(): v for k, v in zip(items[::2], items[1::2], strict=True)}, at + 1
    colon = data.index(b":", at)
    size = int(data[at:colon])
    return data[colon + 1 : colon + 1 + size], colon + 1 + size


def _ng(port: int, command: dict) -> dict:
    """One command of rtpengine's control protocol ("ng": a cookie and bencode over UDP)."""
    cookie = os.urandom(6).hex().encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(cookie + b" " + _bencode(command), ("127.0.0.1", port))
        while True:
            data = sock.recv(1 << 20)
            if data.startswith(cookie + b" "):
                return _bdecode(data, len(cookie) + 1)[0]


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


class PlainPhone:
    """A plain SIP phone (Debian's ``baresip-core``) on the other side of a
    ``SipServer(media_relay=True)``: a desk phone or a carrier trunk, RTP/AVP over UDP, G.711.
    It sends a sine tone of ``tone_hz`` and records what it hears (``heard()``: the received
    audio's RMS level per 100 ms, from the WAV file baresip's ``sndfile`` writes). Driven over
    baresip's ``ctrl_tcp``: :meth:`call`, :meth:`answer`, :meth:`hang_up`, :meth:`wait_event`.

        with SipServer(media_relay=True) as sip, PlainPhone(sip, "300") as desk:
            desk.call("101")           # the operator's browser rings, through rtpengine
    """

    def __init__(self, server: SipServer, user: str, tone_hz: int = 440):
        if not server.media_relay:
            raise SipServerError("a plain phone needs SipServer(media_relay=True)")
        self.server, self.user, self.tone_hz = server, user, tone_hz
        self._dir = Path(tempfile.mkdtemp(prefix="bx24-baresip-"))
        self._ctrl = free_tcp_port()
        self._sip = free_port_both(2)  # baresip listens on TCP and UDP there, TLS next
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._buffer = b""
        self.events: list[dict] = []

    def start(self) -> "PlainPhone":
        """Start baresip (it registers as ``user``); :class:`SipServerError` if it cannot."""
        binary = shutil.which("baresip") or "/usr/bin/baresip"
        if not Path(binary).exists():
            raise SipServerError(
                "baresip is not installed: `apt-get install baresip-core` (`./dev.sh test`)"
            )
        (self._dir / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{self._sip}",
                    f"audio_source ausine,{self.tone_hz}",
                    "ausrc_srate 48000",  # ausine's only rate and channels (baresip turns
                    "ausrc_channels 2",  # them into G.711's 8 kHz mono)
                    "audio_player aubridge,nowhere",
                    "audio_alert aubridge,nowhere",
                    "module_path /usr/lib/baresip/modules",
                    "module g711.so",
                    "module ausine.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module account.so",
                    "module ctrl_tcp.so",
                    "module_app menu.so",  # the commands (dial, accept, hangup)
                    f"ctrl_tcp_listen 127.0.0.1:{self._ctrl}",
                    f"snd_path {self._dir}",
                    "rtp_ports 20000-20999",
                    "",
                ]
            )
        )
        registrar = f"127.0.0.1:{self.server.plain_port}"
        (self._dir / "accounts").write_text(
            f"<sip:{self.user}@{registrar};transport=udp>;auth_pass={self.server.password}"
            ";regint=60;audio_codecs=PCMU,PCMA\n"
        )
        log = open(self._dir / "baresip.log", "ab")
        self._process = subprocess.Popen(
            [binary, "-f", str(self._dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self._socket = socket.create_connection(("127.0.0.1", self._ctrl), timeout=0.2)
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise SipServerError("baresip did not start:\n" + self.log()[-4000:]) from None
                time.sleep(0.05)
        self._socket.settimeout(0.1)
        return self

    def log(self) -> str:
        """baresip's output so far."""
        try:
            return (self._dir / "baresip.log").read_text(errors="replace")
        except OSError:
            return ""

    def _send(self, command: str, params: str = "") -> None:
        assert self._socket is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self._socket.sendall(str(len(body)).encode() + b":" + body + b",")

    def _read(self) -> None:
        assert self._socket is not None
        try:
            self._buffer += self._socket.recv(65536)
        except (TimeoutError, socket.timeout):
            pass
        while b":" in self._buffer:
            size, rest = self._buffer.split(b":", 1)
            if len(rest) < int(size) + 1:
                break
            message, self._buffer = rest[: int(size)], rest[int(size) + 1 :]
            try:
                self.events.append(json.loads(message))
            except ValueError:
                pass

    def wait_event(self, type: str, timeout_s: float = WAIT_MS / 1000) -> dict:
        """The first of baresip's events of ``type`` (``CALL_INCOMING``, ``CALL_ESTABLISHED``,
        ``CALL_CLOSED``, ``REGISTER_OK``...), waiting for it."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._read()
            for event in self.events:
                if event.get("type") == type:
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"baresip: no {type} within {timeout_s} s; events: "
                    f"{[e.get('type') for e in self.events]}\n{self.log()[-3000:]}"
                )

    def call(self, user: str) -> None:
        """Call ``user`` (a browser's SIP user) through the server."""
        self._send("dial", f"sip:{user}@127.0.0.1:{self.server.plain_port}")

    def answer(self) -> None:
        """Answer the call that rings (``CALL_INCOMING``)."""
        self._send("accept")

    def hang_up(self) -> None:
        """Hang up its call."""
        self._send("hangup")

    def heard(self) -> list[float]:
        """The RMS level (0 to 1) of what it received, per 100 ms, over its recordings in order
        (read as they are written: a WAV header's sizes are not final until the call ends)."""
        import struct
        from array import array

        files = sorted(self._dir.glob("*dec*.wav"), key=lambda p: p.stat().st_mtime)
        levels: list[float] = []
        for path in files:  # a new one when a re-INVITE updates the stream (hold, resume)
            data = path.read_bytes()
            at = data.find(b"data")
            if len(data) < 44 or at < 0:
                continue
            channels, rate = struct.unpack_from("<HI", data, 22)
            body = data[at + 8 :]
            samples = array("h", body[: len(body) - len(body) % 2])
            step = max(1, rate * channels // 10)
            levels += [
                (sum(x * x for x in samples[i : i + step]) / step) ** 0.5 / 32768
                for i in range(0, len(samples) - step + 1, step)
            ]
        return levels

    def stop(self) -> None:
        """Stop baresip."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        stop(self._process)
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "PlainPhone":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def open_operator(page, url, server, user="101", user_options=None, timeout_s=20.0):
    """The worker at ``url`` (``bx24_testing.frame.frame_url``) in ``page``, with the real
    JsSIP instead of the stand-in, the operator's SIP password (``server``'s) saved in their
    user option, and ``user_options`` more of them; once it is registered with ``server`` as
    ``user`` (the stub's operator has inner number 101): its
    :class:`~bx24_testing.card.StubCard`."""
    from .card import StubCard
    from .frame import open_frame, wait_until

    options = {"sip_password": server.password, **(user_options or {})}
    before = set(server.contacts(user))  # (a closed page's contact may linger a second)
    card = StubCard(open_frame(page, url, sip_stand_in=False, stub_config={"userOptions": options}))
    wait_until(
        page, lambda: set(server.contacts(user)) - before, timeout_s, what=f"{user} registered"
    )
    return card


def operator_phone(card, method, session=True):
    """What the operator frame's own JsSIP phone (``sip.mjs``, with ``open_operator``) says:
    ``method`` of its first call (``stats``: RTP bytes and audio energy both ways,
    ``direction``, ``configuration``), or with ``session=False`` of the phone (``recent``: its
    last events, ``sessionIds``)."""
    return card.frame.evaluate(
        "async ([method, session]) => { const p = bx24Bridge.sipPhone;"
        " return session ? p[method](p.sessionIds()[0]) : p[method](); }",
        [method, session],
    )
