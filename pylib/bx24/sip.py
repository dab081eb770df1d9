"""A real softphone for the call session: SIP over WebSocket, with JsSIP in the page.

    softphone = bx24.page.sip_softphone("wss://pbx.example.com/ws", "sip:101@pbx.example.com",
                                   password=secret)
    calls = bx24.page.calls(softphone, line_number="101")

What :class:`SipSoftphone` does for :class:`bx24.calls.Calls` (the interface of
:mod:`bx24.softphone`): registers with the SIP server (JsSIP re-registers by itself when the
WebSocket comes back), turns an incoming INVITE into ``calls.incoming`` and a dialled call into
an INVITE, answers, rejects (486 busy or 603 declined), hangs up, mutes (the microphone track
disabled: RTP goes on, silent), holds and resumes (re-INVITE), sends DTMF (RFC 4733 where the
connection can, SIP INFO otherwise or when asked: ``dtmf="info"``), transfers blind (REFER;
then its own leg ends), and reports the other side's answer, hang-up and failures with their SIP
cause mapped to ``telephony.externalcall.finish``'s status codes (:func:`status_for`).

Only one frame of the operator's registers: the page's leader (``bridge.js``/``frames.js``);
the others start their phone only if they become the leader. The password goes to JsSIP and
nowhere else: not to a log, not to the server.

Pure logic over a phone (``sip.mjs`` in the page; tests pass a fake): ``start()`` asks
``new_phone(options_json, receive)`` for one.
"""

import json

from .log import stderr
from .tasks import call_handler, spawn
from .telephony import Status

# JsSIP's causes (JsSIP.C.causes) → STATUS_CODE of telephony.externalcall.finish
CAUSES = {
    "Busy": Status.BUSY,
    "Rejected": Status.DECLINED,
    "Unavailable": Status.UNAVAILABLE,
    "Not Found": Status.WRONG_NUMBER,
    "Address Incomplete": Status.DIRECTION_UNAVAILABLE,
    "Authentication Error": Status.FORBIDDEN,
    "Request Timeout": Status.UNAVAILABLE,
    "Connection Error": Status.SERVICE_UNAVAILABLE,
    "No Answer": Status.MISSED,
    "Expires": Status.MISSED,
    "Canceled": Status.MISSED,
}
REGISTERED = "registered"
# why the phone is not registered (JsSIP's causes of a failed REGISTER or refresh), in the words
# an operator reads on the card: "Softphone offline: <this> (<SIP code>)"
OFFLINE = {
    "Authentication Error": "the SIP server did not accept the operator's SIP password",
    "Rejected": "the SIP server refused the operator",
    "Unavailable": "the SIP server did not answer in time",
    "Request Timeout": "the SIP server did not answer in time",
    "Connection Error": "cannot reach the SIP server",
    "network": "this computer's network is down",
}
# what the operator is told when the microphone fails a call (sip.mjs's problems)
MICROPHONE = {
    "denied": "the browser blocked the microphone: allow it for this site (the lock icon in "
              "the address bar), then take the next call",
    "missing": "no microphone found: plug one in, then take the next call",
    "unavailable": "the microphone cannot be used (another program holds it?)",
    "lost": "the microphone was unplugged or stopped during the call",
}


# why JsSIP ended a call by itself (its causes): the other side is not told by us, the call is
# over all the same; said in the finish's FAILED_REASON and on the operator's next card
DROPPED = {
    "Dialog Error": "the other side no longer had the call when the link to the SIP server "
                    "came back (it hung up meanwhile)",
    "Request Timeout": "the other side stopped answering",
    "Connection Error": "the connection to the SIP server dropped",
    "RTP Timeout": "no audio came from the other side",
}


def _check_uri(uri):
    if not isinstance(uri, str) or not uri.startswith("sip:") or "@" not in uri:
        raise ValueError("uri is the operator's SIP address (sip:user@domain), not "
                         "{!r}".format(uri))


def _host(url):
    """The host of a ws(s):// URL: the default SIP domain."""
    rest = url.split("://", 1)[1]
    host = rest.split("/", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _check_ice_servers(servers):
    """ICE servers as RTCPeerConnection takes them: ``[{"urls": "turn:host:3478",
    "username": ..., "credential": ...}]`` (``urls`` a string or a list)."""
    ok = isinstance(servers, (list, tuple))
    for server in servers if ok else ():
        urls = server.get("urls") if isinstance(server, dict) else None
        urls = [urls] if isinstance(urls, str) else urls
        if not (isinstance(urls, (list, tuple)) and urls and all(
                isinstance(u, str) and u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
                for u in urls)):
            ok = False
    if not ok:
        raise ValueError('ice_servers is a list like [{"urls": "turn:turn.example.com:3478", '
                         '"username": "...", "credential": "..."}] (stun:, turn: or turns: '
                         'URLs), or an async function returning one')


def status_for(cause, code=None):
    """The :class:`~bx24.telephony.Status` of a SIP failure: its cause, else its response code
    when Bitrix24 has it, else ``OTHER``."""
    if cause in CAUSES:
        return CAUSES[cause]
    if code is not None and str(code) in Status.ALL and str(code) != Status.ANSWERED:
        return str(code)
    return Status.OTHER


class SipSoftphone:
    """The softphone interface over a SIP phone. ``server``: the WebSocket URL
    (``wss://``); ``uri``: the operator's SIP address; ``password`` (never logged);
    ``domain``: where to call numbers (default: the URI's); ``dtmf``: ``"rfc4733"`` (the
    default, SIP INFO when the connection cannot) or ``"info"``. ``account``: instead of
    ``uri``/``password``, an ``async`` function returning ``{"user" or "uri", "password",
    "display_name"}``, asked when the phone starts (the operator's account from REST)."""

    calls = None

    def __init__(self, server, uri=None, password=None, display_name=None, domain=None,
                 dtmf="rfc4733", new_phone=None, log=None, account=None, ice_servers=None,
                 ice_transport_policy="all", codecs=None, register_expires=600):
        servers = server if isinstance(server, (list, tuple)) else [server]
        if not servers or not all(isinstance(url, str) and url.startswith(("wss://", "ws://"))
                                  for url in servers):
            raise ValueError("server is the SIP server's WebSocket URL (wss://...), or a list "
                             "of them to fail over to in order, not {!r}".format(server))
        if account is None:
            _check_uri(uri)
        if dtmf not in ("rfc4733", "info"):
            raise ValueError('dtmf is "rfc4733" or "info", not {!r}'.format(dtmf))
        if ice_transport_policy not in ("all", "relay"):
            raise ValueError('ice_transport_policy is "all" or "relay" (TURN only), not '
                             '{!r}'.format(ice_transport_policy))
        if not callable(ice_servers):
            _check_ice_servers(ice_servers or [])
        if codecs is not None and not (isinstance(codecs, (list, tuple)) and all(
                isinstance(name, str) and name for name in codecs)):
            raise ValueError('codecs is a list of codec names, preferred first (e.g. ["opus", '
                             '"PCMU"]), not {!r}'.format(codecs))
        if type(register_expires) is not int or not 60 <= register_expires <= 86400:
            raise ValueError("register_expires is the registration's lifetime in seconds "
                             "(60 to 86400; JsSIP refreshes it before it ends), not "
                             "{!r}".format(register_expires))
        self.server = server
        self.servers = list(servers)
        self.uri = uri
        self.domain = domain or (uri.split("@", 1)[1] if uri else _host(servers[0]))
        self.registration = None        # registered | unregistered | failed | disconnected
        self.registration_problem = None  # why the last registration failed, for a card
        self.phone = None
        self.log = log or stderr
        self._options = {"server": server if isinstance(server, str) else self.servers,
                         "uri": uri, "password": password,
                         "displayName": display_name, "dtmf": dtmf,
                         "iceServers": [] if callable(ice_servers) else list(ice_servers or []),
                         "iceTransportPolicy": ice_transport_policy,
                         "codecs": list(codecs or []), "registerExpires": register_expires}
        # an async function: asked for the ICE servers each time the phone starts (TURN
        # credentials that expire, from the app's server), never kept in a served file
        self._ice_servers = ice_servers if callable(ice_servers) else None
        self._account = account
        self._new_phone = new_phone
        self._starting = None
        self._generation = 0
        self._by_id = {}
        self._registration_hooks = []

    def __repr__(self):  # no password
        return "SipSoftphone({!r}, {!r})".format(self.server, self.uri)

    def connect(self, calls):
        self.calls = calls

    def on_registration(self, fn):
        """Decorator: ``fn(softphone)`` whenever the registration state changes (``fn`` may be
        ``async``: e.g. to say it on the card of a call in progress)."""
        self._registration_hooks.append(fn)
        return fn

    # -- the phone's life -----------------------------------------------------------------------

    def start(self):
        """Make the phone (it registers); once. The page does it when this frame leads."""
        if self._starting is None:
            self._generation += 1
            self._starting = spawn(self._start(self._generation), self.log,
                                   "starting the SIP phone")
        return self._starting

    async def _start(self, generation):
        """Make the phone; whatever step fails (the account's REST, the phone's script), the
        phone is ``failed`` with the reason in ``registration_problem`` (for the card) and the
        log (the console and the app's server), never silently not started."""
        if self._account is not None:
            try:
                account = await self._account() or {}
            except Exception as exc:
                self._registered({"state": "failed", "cause": "cannot read the operator's SIP "
                                  "account ({}: {})".format(type(exc).__name__, exc)})
                return
            uri = account.get("uri") or (
                "sip:{}@{}".format(account["user"], self.domain) if account.get("user") else None)
            try:
                _check_uri(uri)
            except ValueError:
                self._registered({"state": "failed",
                                  "cause": "no SIP account for this operator (no inner phone "
                                           "number in their Bitrix24 profile)"})
                return
            self.uri = self._options["uri"] = uri
            self._options["password"] = account.get("password")
            if account.get("display_name"):
                self._options["displayName"] = account["display_name"]
            if not account.get("password"):
                self.log("the operator {} saved no SIP password (the application's main "
                         "page): registering without one".format(uri))
        if self._ice_servers is not None:
            try:
                servers = await self._ice_servers() or []
                _check_ice_servers(servers)
            except Exception as exc:
                self._registered({"state": "failed", "cause": "cannot get the ICE (STUN/TURN) "
                                  "servers ({}: {})".format(type(exc).__name__, exc)})
                return
            self._options["iceServers"] = list(servers)
        try:
            phone = await self._new_phone(json.dumps(self._options), self._receive)
        except Exception as exc:
            self._registered({"state": "failed", "cause": "cannot start the SIP phone ({}: "
                              "{})".format(type(exc).__name__, exc)})
            return
        if generation != self._generation:  # stopped while it started
            phone.stop()
        else:
            self.phone = phone

    def lead(self, leading):
        """This frame leads the operator's frames (start the phone), or no longer does (stop
        it): :func:`bx24.calls` wires it to the page."""
        if leading:
            self.start()
        else:
            self.stop()

    def page_closing(self):
        """The page goes away: hang up and unregister now, so the next leader registers alone."""
        self.stop()

    def stop(self):
        """Hang up and unregister (this frame no longer leads)."""
        self._generation += 1
        if self.phone is not None:
            self.phone.stop()
        self.phone = None
        self._starting = None

    def _receive(self, text):
        try:
            event = json.loads(text)
        except ValueError:
            self.log("the SIP phone sent something that is not JSON: {!r}".format(text[:200]))
            return
        kind = event.get("type")
        if kind == "registration":
            self._registered(event)
            return
        call_id = event.get("id")
        if kind == "incoming":
            if self.calls is None:
                return
            call = self.calls.incoming(event.get("number") or "unknown", handle=call_id)
            self._by_id[call_id] = call
            return
        call = self._by_id.get(call_id)
        if call is None:
            return
        # "local": this phone ended it (the session knows how); "remote" or "system" (the
        # connection dropped, a timeout): the call is over for a reason the session must hear
        remote = event.get("originator") != "local"
        if kind == "microphone":
            self._microphone(call, event)
            return
        if kind == "answered":
            call.remote_answered()
        elif kind == "ended":
            self._by_id.pop(call_id, None)
            if remote:
                call.remote_hung_up()
            elif event.get("cause") not in (None, "Terminated"):  # not our hang-up: JsSIP
                self._dropped(call, event.get("cause"))             # ended it (see DROPPED)
        elif kind == "failed":
            self._by_id.pop(call_id, None)
            if event.get("cause") == "User Denied Media Access":  # this phone, for want of a
                problem = getattr(call, "microphone_problem", None)  # microphone: say it
                call.failed(Status.UNAVAILABLE, problem or MICROPHONE["unavailable"])
                return
            if not remote:
                return  # we ended it: the session knows how
            cause = event.get("cause")
            if cause == "Canceled" or (cause in ("No Answer", "Expires")
                                       and call.direction == "incoming"):
                call.remote_hung_up()  # the caller gave up while it rang: missed
            elif call.connected_at is not None:
                call.failed(Status.ANSWERED, cause)  # talked, then cut off: answered, and why
            else:
                call.failed(status_for(cause, event.get("code")), cause)
        elif kind == "recovered":
            self.log("the call {!r} went on while the SIP server was unreachable; its dialog "
                     "is refreshed (re-INVITE)".format(call))
        elif kind == "transfer" and event.get("state") == "failed":
            self.log("the transfer of {!r} failed: the call was dropped".format(call))

    def _dropped(self, call, cause):
        """JsSIP ended a call by itself (a re-INVITE after a dropped link answered 481: the
        other side hung up meanwhile): finished once, answered if it was, with the reason; the
        operator's next card says it (a note)."""
        text = DROPPED.get(cause, "it failed in the browser ({})".format(cause))
        self.log("the call {!r} was cut off: {}".format(call, text))
        if self.calls is not None:
            self.calls.card.leave_note("The call with {} was cut off: {}.".format(
                call.phone_number, text))
        call.failed(Status.ANSWERED if call.connected_at is not None
                    else status_for(cause), text)

    def _microphone(self, call, event):
        """No microphone, a blocked one, one unplugged mid-call: the log (console, the app's
        server) and the card's status say it, and a call that cannot go on is finished once:
        one that was never answered as unavailable (480, what the caller's side hears), one
        that was as answered, with the reason; the operator's next card repeats it (a note)."""
        text = MICROPHONE.get(event.get("problem"), MICROPHONE["unavailable"])
        call.microphone_problem = text
        self.log("microphone: {} ({}; {!r})".format(text, event.get("message"), call))
        spawn(self._say(call, text), self.log, "showing a microphone problem")
        if self.calls is not None:  # the card closes with the call: the next one says it too
            self.calls.card.leave_note("The call with {} ended: {}.".format(
                call.phone_number, text))
        if event.get("problem") == "lost" and call.connected_at is not None:
            self._by_id.pop(call.handle, None)
            if self.phone is not None:
                self.phone.hangup(call.handle)
            call.failed(Status.ANSWERED, text)

    async def _say(self, call, text):
        calls = self.calls
        if calls is not None and calls.current is call:
            await calls.card.set_status_text(text[:1].upper() + text[1:])

    def _registered(self, event):
        state = event.get("state")
        self.registration = state
        if state == REGISTERED:
            self.registration_problem = None
        elif state in ("failed", "disconnected"):
            cause = event.get("cause")
            if cause is None:
                cause = ("the connection to the SIP server dropped: reconnecting"
                         if state == "disconnected" else "no answer from the SIP server")
            code = event.get("code")
            if code is None and cause == "Request Timeout":
                code = 408  # no answer: what SIP itself calls it (JsSIP gives no response)
            self.registration_problem = "Softphone offline: {}{}".format(
                OFFLINE.get(cause, cause), " ({})".format(code) if code else "")
            self.log("SIP registration of {} at {} {}: {}".format(
                self.uri, self.server, state, self.registration_problem))
        for fn in list(self._registration_hooks):
            call_handler(fn, (self,), self.log, "registration hook {}".format(
                getattr(fn, "__name__", repr(fn))))

    # -- what the call session asks -------------------------------------------------------------

    def _target(self, number):
        number = str(number)
        return number if number.startswith("sip:") else "sip:{}@{}".format(number, self.domain)

    async def _phone(self):
        if self.phone is None and self._starting is not None:
            await self._starting  # a click while the phone starts: it is for this phone
        if self.phone is None:
            raise RuntimeError("the SIP phone is not running in this frame (it runs in the "
                               "operator's leading frame, once registered)")
        return self.phone

    async def answer(self, call):
        (await self._phone()).answer(call.handle)

    async def reject(self, call, status):
        (await self._phone()).reject(call.handle, 486 if status == Status.BUSY else 603)

    async def hang_up(self, call):
        if call.handle is not None:
            (await self._phone()).hangup(call.handle)

    async def dial(self, call):
        call.handle = (await self._phone()).call(self._target(call.phone_number))
        self._by_id[call.handle] = call

    async def set_muted(self, call, muted):
        (await self._phone()).mute(call.handle, bool(muted))

    async def set_held(self, call, held):
        (await self._phone()).hold(call.handle, bool(held))

    async def send_dtmf(self, call, key):
        (await self._phone()).dtmf(call.handle, key)

    async def transfer(self, call, target):
        (await self._phone()).transfer(call.handle, self._target(target))
