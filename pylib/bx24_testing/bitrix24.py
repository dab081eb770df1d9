"""Bitrix24 as the kit plays it, written once: a portal's REST, its application and its users.

One :class:`Portal` is what the kit's stand-ins all answer from, so they cannot disagree:

- the BX24 stub in a frame sends its REST over HTTP to the portal it belongs to (the portal
  stand-in of :mod:`bx24_testing.portal`, the emulator's server, or a test's route), and asks it
  for the frame's init data (``/_bx24portal/init``: token, options, install mode);
- the CPython fake (:mod:`bx24_testing.fake`) calls it in process;
- server-side tests use its OAuth server and its event sender (ONAPPINSTALL, ONAPPUNINSTALL, the
  overtime notice).

What it models (docs/bitrix24.md says what Bitrix24 does; each rule has a conformance test):

- **REST at the HTTP level**: ``auth=<token>`` in a PHP-style form body; 401 ``invalid_token`` /
  ``expired_token``; answers ``{"result", "total", "next", "time"}``, errors ``{"error",
  "error_description"}`` with their HTTP status; method names in any letter case; ``batch``
  run in the body's order, its parts JSON lists when their keys are ``0..n-1`` (PHP arrays),
  at most 50 commands, ``halt``;
- **answers programmed** by a test (:meth:`Portal.respond`: results, errors, statuses, bodies
  that are not JSON, network failures, paged ``items``), else **built in** as Bitrix24 answers:
  ``user.current``, ``user.option.*``, ``app.option.*``, ``app.info``, ``placement.bind`` /
  ``unbind`` / ``get`` (with their errors), ``telephony.externalLine.*``,
  ``telephony.externalcall.*`` (``CALL_ID``, the 30-minute dedup, ``CRM_CREATE`` making a lead,
  ``CRM_ACTIVITY_ID`` on finish), ``crm.activity.get`` / ``update`` (the call's activity),
  ``user.admin``, ``event.bind`` / ``get`` / ``unbind``;
- **the application**: install mode until ``installFinish``, ``application_token``, the
  bindings, the options, the lines, the event handlers, OAuth tokens (1 hour access, refresh
  tokens rotated), the scopes.

Values cross as Bitrix24 sends them: REST params decoded from the form (every value a string),
answers as JSON.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from urllib.parse import quote, unquote_plus, urlencode, urlsplit

PAGE_SIZE = 50
MAX_BATCH = 50
TOKEN_SECONDS = 3600
OAUTH_PREFIX = "/_bx24oauth/"  # where the kit's OAuth server answers (Bitrix24's: its own host)
DEDUP_SECONDS = 30 * 60
PAGE_BACKGROUND_WORKER = "PAGE_BACKGROUND_WORKER"
# Placements an application may bind (the ones a softphone app meets; others are refused).
PLACEMENTS = (
    PAGE_BACKGROUND_WORKER,
    "CALL_CARD",
    "TELEPHONY_ANALYTICS",
    "CRM_LEAD_LIST_MENU",
    "CRM_CONTACT_LIST_MENU",
    "LEFT_MENU",
    "USER_PROFILE_MENU",
)
SCOPES = ("placement", "telephony", "user", "crm", "im")
INSTALL_EVENTS = ("ONAPPINSTALL", "ONAPPUNINSTALL", "ONEXTERNALCALLSTART")

USERS = {
    1: {
        "ID": "1",
        "NAME": "Operator",
        "LAST_NAME": "Stub",
        "ACTIVE": True,
        "UF_PHONE_INNER": "101",
        "ADMIN": False,
    },
    2: {
        "ID": "2",
        "NAME": "Admin",
        "LAST_NAME": "Stub",
        "ACTIVE": True,
        "UF_PHONE_INNER": "100",
        "ADMIN": True,
    },
}


# -- the wire: PHP-style forms and PHP's JSON ----------------------------------------------------


def decode_form(body: str) -> dict:
    """A PHP-style form body as Bitrix24 reads it, in the body's order:
    ``a[b][0]=x`` → ``{"a": {"b": {"0": "x"}}}``; ``a[]=x&a[]=y`` →
    ``{"a": {"0": "x", "1": "y"}}``."""
    out: dict = {}
    for pair in filter(None, (body or "").split("&")):
        name, _, value = pair.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        head, _, rest = name.partition("[")
        keys = [head] + ([part.rstrip("]") for part in ("[" + rest).split("[")[1:]] if rest else [])
        node = out
        for depth, key in enumerate(keys):
            if key == "" and depth > 0:  # name[]: the next index
                key = str(len(node))
            if depth == len(keys) - 1:
                node[key] = value
            else:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
    return out


def php(value):
    """``value`` as PHP's ``json_encode`` gives it: an array keyed ``0..n-1`` in order (an empty
    one too) is a JSON list; any other keys make an object."""
    if isinstance(value, dict):
        keys = list(value)
        if all(str(key) == str(index) for index, key in enumerate(keys)):
            return [php(value[key]) for key in keys]
        return {str(key): php(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [php(item) for item in value]
    return value


def _flag(value, default=True) -> bool:
    """Bitrix24's booleans as they arrive in a form: 1/0, Y/N, true/false."""
    if value is None or value == "":
        return default
    return str(value).strip().lower() not in ("0", "n", "false", "no")


def _answer(status: int, body) -> dict:
    return {"http": status, "json": body}


def _error(code: str, description: str = "", status: int = 400) -> dict:
    return _answer(status, {"error": code, "error_description": description})


def _core(description: str) -> dict:
    return _error("ERROR_CORE", description)


class RestError(Exception):
    """A built-in method's error answer (raised inside a method, turned into its answer)."""

    def __init__(self, code: str, description: str = "", status: int = 400):
        super().__init__(code)
        self.answer = _error(code, description, status)


# -- the portal ------------------------------------------------------------------------------------


class Token:
    __slots__ = ("access", "refresh", "user", "expires", "server")

    def __init__(self, user: int, expires: float, server: bool = False):
        self.access = secrets.token_hex(16)
        self.refresh: str | None = secrets.token_hex(16)  # None once spent
        self.user = user
        self.expires = expires
        self.server = server  # issued to the application's server (OAuth), not to a frame


class Session:
    """One frame the portal opened for the application: its user, placement, install mode,
    token (``APP_SID`` in the frame's ``window.name`` names it)."""

    __slots__ = ("sid", "user", "placement", "options", "install", "token", "lang")

    def __init__(self, sid, user, placement, options, install, token, lang):
        self.sid = sid
        self.user = user
        self.placement = placement
        self.options = options
        self.install = install
        self.token = token
        self.lang = lang


class Portal:
    """One Bitrix24 portal with one application (see the module doc). ``domain`` is where it
    answers (``host[:port]``), ``clock`` its time (tests move it), ``users`` ``{id: profile}``."""

    def __init__(
        self,
        domain: str = "example.bitrix24.com",
        *,
        member_id: str | None = None,
        lang: str = "en",
        users: dict | None = None,
        clock=None,
        https: bool = True,
        client_id: str = "local.0123456789abcd.01234567",
        client_secret: str | None = None,
        scope: tuple = SCOPES,
    ):
        self.domain = domain
        self.https = https
        self.member_id = member_id or secrets.token_hex(16)
        self.lang = lang
        self.clock = clock or time.time
        self.users = {int(k): dict(v) for k, v in (users or USERS).items()}
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(20)
        self.scope = tuple(scope)
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to a fresh portal where the application is uploaded but not installed (the
        frames open on it keep their sessions and tokens)."""
        with self.lock:
            self.installed = False
            self.application_token = secrets.token_hex(16)
            self.app_options: dict = {}
            self.user_options: dict[int, dict] = {}
            self.bindings: list[dict] = []
            self.lines: dict[str, dict] = {}
            self.event_handlers: list[dict] = []
            self.calls: dict[str, dict] = {}
            self.registrations: dict[tuple, tuple[str, float]] = {}
            self.leads: dict[int, dict] = {}
            self.activities: dict[int, dict] = {}
            self.contacts: dict[str, dict] = {}  # phone -> {ID, ...}: who CRM knows
            self.responses: dict[str, dict] = {}
            self.log: list[dict] = []
            self.unbound_by_overtime: list[dict] = []
            self.app_urls: dict[str, str] = {}  # the local application's "main" and "install"
            if not hasattr(self, "tokens"):
                self.tokens: dict[str, Token] = {}
                self.sessions: dict[str, Session] = {}
                self._serial = 0

    # -- where it answers ------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return ("https://" if self.https else "http://") + self.domain

    @property
    def rest_url(self) -> str:
        return self.origin + "/rest/"

    @property
    def server_endpoint(self) -> str:
        """The OAuth server's REST, as Bitrix24 names it in auth data (in the kit, the OAuth
        server answers under :data:`OAUTH_PREFIX` of every stand-in host)."""
        return self.origin + OAUTH_PREFIX + "rest/"

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    # -- sessions and tokens -------------------------------------------------------------------

    def user(self, user_id) -> dict:
        """The profile of ``user_id`` (``users``: 1 an operator, 2 an administrator)."""
        try:
            return self.users[int(user_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(
                f"no user {user_id!r} in this portal (users: {', '.join(map(str, self.users))})"
            ) from None

    def issue(self, user_id: int, server: bool = False) -> Token:
        """A new token of ``user_id`` (an hour; ``server``: one the OAuth server gave)."""
        with self.lock:
            token = Token(int(user_id), self.clock() + TOKEN_SECONDS, server)
            self.tokens[token.access] = token
            return token

    def open_session(
        self,
        user_id: int = 1,
        placement: str = PAGE_BACKGROUND_WORKER,
        options: dict | None = None,
        install: bool | None = None,
        lang: str | None = None,
    ) -> Session:
        """A frame of the application opened by the portal for ``user_id``: in install mode
        while the application is not installed (``install``: force it either way)."""
        with self.lock:
            self.user(user_id)
            sid = secrets.token_hex(8)
            if install is None:
                install = not self.installed and placement == "DEFAULT"
            session = Session(
                sid,
                int(user_id),
                placement,
                dict(options or {}),
                bool(install),
                self.issue(user_id),
                lang or self.lang,
            )
            self.sessions[sid] = session
            while len(self.sessions) > 1000:
                del self.sessions[next(iter(self.sessions))]
            return session

    def session(self, sid: str) -> Session:
        """The frame session ``sid`` (KeyError if the portal opened none)."""
        found = self.sessions.get(str(sid))
        if found is None:
            raise KeyError(f"no frame session {sid!r} in this portal")
        return found

    def init_data(self, sid: str) -> dict:
        """What the portal hands the frame of session ``sid`` (the real library's getInitData):
        its token (a fresh one once it expired), the options, whether it is the install step."""
        with self.lock:
            session = self.session(sid)
            if session.token.expires <= self.clock():
                session.token = self.issue(session.user)
            user = self.user(session.user)
            token = session.token
            return {
                "DOMAIN": self.domain,
                "PROTOCOL": 1 if self.https else 0,
                "LANG": session.lang,
                "APP_SID": session.sid,
                "AUTH_ID": token.access,
                "AUTH_EXPIRES": int(token.expires - self.clock()),
                "REFRESH_ID": token.refresh,
                "MEMBER_ID": self.member_id,
                "IS_ADMIN": bool(user.get("ADMIN")),
                "INSTALL": session.install,
                "FIRST_RUN": session.install,
                "USER_OPTIONS": dict(self.user_options.get(session.user, {})),
                "APP_OPTIONS": dict(self.app_options),
                "PLACEMENT": session.placement,
                "PLACEMENT_OPTIONS": dict(session.options),
                "USER_ID": session.user,
            }

    def refresh_session(self, sid: str) -> dict:
        """A new token for the frame (the real library's refreshAuth through the portal)."""
        with self.lock:
            session = self.session(sid)
            session.token = self.issue(session.user)
        return self.init_data(sid)

    def expire(self, sid: str | None = None) -> None:
        """Make the session's token (every token) expired now: the next REST call gets 401."""
        with self.lock:
            tokens = [self.session(sid).token] if sid else list(self.tokens.values())
            for token in tokens:
                token.expires = self.clock() - 1

    def install_finish(self, sid: str) -> bool:
        """``BX24.installFinish()`` from session ``sid`` (the portal ignores it from anything but
        the install step of an administrator)."""
        with self.lock:
            session = self.session(sid)
            if not session.install or not self.user(session.user).get("ADMIN"):
                return False
            self.installed = True
            session.install = False
            self._deliver("ONAPPINSTALL")  # events flow from now on, this one first
            return True

    def uninstall(self, clean: bool = False) -> None:
        """An administrator deletes the application: ``ONAPPUNINSTALL`` goes to its handler,
        then its bindings and event handlers are gone (Bitrix24 removes them by itself)."""
        with self.lock:
            self._deliver("ONAPPUNINSTALL", clean=int(clean))
            self.installed = False
            self.bindings = []
            self.event_handlers = []
            self.application_token = secrets.token_hex(16)

    def _deliver(self, event: str, **data) -> None:
        """POST ``event`` to the handlers bound to it (``event.bind``), in the background as
        Bitrix24's queue does: no retry, answers ignored."""
        handlers = [h["handler"] for h in self.event_handlers if h["event"] == event]
        if not handlers or not self.installed:
            return
        body = urlencode(list(self.event_bodies(event, **data).items())).encode()

        def post():
            import urllib.request

            for url in handlers:
                request = urllib.request.Request(
                    url,
                    data=body,
                    method="POST",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                try:
                    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
                except OSError:
                    pass  # Bitrix24 does not retry either

        threading.Thread(target=post, name=f"bx24-portal-{event}", daemon=True).start()

    def known_call(
        self, call_id: str, phone_number: str = "", direction: str = "outgoing", user_id: int = 1
    ) -> None:
        """A call Bitrix24 registered itself (click-to-call) and shows a card for: finish, show
        and hide take its ``CALL_ID``."""
        with self.lock:
            if call_id not in self.calls:
                self.calls[call_id] = {
                    "params": {
                        "PHONE_NUMBER": phone_number,
                        "TYPE": "1" if direction == "outgoing" else "2",
                    },
                    "user": int(user_id),
                    "direction": direction,
                    "finished": None,
                    "registered": {
                        "CALL_ID": call_id,
                        "CRM_CREATED_LEAD": None,
                        "CRM_CREATED_ENTITIES": [],
                        "CRM_ENTITY_TYPE": "",
                        "CRM_ENTITY_ID": None,
                    },
                }

    def set_user_option(self, user_id: int, name: str, value) -> None:
        """``user.option.set`` as ``user_id`` would (a value is kept as a string)."""
        with self.lock:
            self.user_options.setdefault(int(user_id), {})[str(name)] = str(value)

    def set_app_option(self, name: str, value) -> None:
        """``app.option.set`` as an administrator would."""
        with self.lock:
            self.app_options[str(name)] = str(value)

    # -- what a test programs and reads ------------------------------------------------------

    def respond(self, method: str, answer) -> None:
        """Program ``method``'s answers (one, or a list given out in turn, the last repeated):
        ``{"result": ...}`` (+ ``total``, ``next``), ``{"error": ..., "error_description": ...}``
        (400 unless ``status``), ``{"status": 502, "body": "<html>"}``, ``{"network": True}``,
        ``{"items": [...]}`` (a list method, paged by ``start``)."""
        if not isinstance(method, str) or not method:
            raise ValueError("respond() needs a REST method name")
        answers = answer if isinstance(answer, list) else [answer]
        for one in answers:
            if not isinstance(one, dict) or not any(
                k in one for k in ("result", "error", "body", "network", "items")
            ):
                raise ValueError(
                    f'response for "{method}" must be {{result: ...}}, {{error: ..., '
                    f"error_description: ...}}, {{status, body}}, {{network: true}} or "
                    f"{{items: [...]}}, got {json.dumps(one)}"
                )
        with self.lock:
            self.responses[method.lower()] = {
                "answers": json.loads(json.dumps(answers)),
                "served": 0,
            }

    def rest_calls(self, method: str | None = None) -> list[dict]:
        """Every REST call the portal answered (``{"method", "params", "user", "batch",
        "status", "answer"}``), of ``method`` if given (any letter case)."""
        with self.lock:
            return [
                dict(c) for c in self.log if method is None or c["method"].lower() == method.lower()
            ]

    def duplicate_calls(self) -> list[str]:
        """What ``bx24.calls`` promises never to do, found in the REST log: one physical call
        (one ``EXTERNAL_CALL_ID``) registered twice, or one ``CALL_ID`` finished twice; each
        with both records. The kit fails a test that has any (the plugin, FakePortal)."""
        problems: list[str] = []
        registered: dict[str, dict] = {}
        finished: dict[str, dict] = {}
        for record in self.rest_calls():
            method, params = record["method"].lower(), record["params"]
            if record["status"] != 200:
                continue
            if method == "telephony.externalcall.register" and params.get("EXTERNAL_CALL_ID"):
                key, seen, what = params["EXTERNAL_CALL_ID"], registered, "registered"
            elif method == "telephony.externalcall.finish" and params.get("CALL_ID"):
                key, seen, what = params["CALL_ID"], finished, "finished"
            else:
                continue
            if key in seen:
                problems.append(
                    f"a call was {what} twice ({key}): first {seen[key]}, then {params}"
                )
            else:
                seen[key] = params
        return problems

    # -- REST, over HTTP -------------------------------------------------------------------------

    def rest(self, method: str, body: str) -> dict:
        """One REST request as it arrives: ``POST /rest/<method>.json`` with a form ``body``
        (``auth=<token>&...``). Returns ``{"http", "json"}``, ``{"http", "text"}`` (a body
        that is not JSON) or ``{"network": why}`` (no answer at all)."""
        params = decode_form(body)
        token = self.tokens.get(str(params.pop("auth", "")))
        with self.lock:
            if token is None:
                return _error("invalid_token", "Unable to authenticate", 401)
            if token.expires <= self.clock():
                return _error("expired_token", "The access token provided has expired.", 401)
            if method.lower() == "batch":
                return self._batch(params, token)
            return self._serve(method, params, token, False)

    def call(self, method: str, params: dict | None = None, user: int = 1) -> dict:
        """A REST call in process, as ``user`` (the params form-encoded and decoded as over
        HTTP): the answer as :meth:`rest` gives it."""
        from bx24.form import encode

        token = self.issue(user)
        body = "auth=" + quote(token.access) + ("&" + encode(params) if params else "")
        return self.rest(method, body)

    def _batch(self, params: dict, token: Token) -> dict:
        commands = params.get("cmd") or {}
        if not isinstance(commands, dict):
            return _error("ERROR_BATCH_METHOD_NOT_ALLOWED", "cmd must be an array")
        if len(commands) > MAX_BATCH:
            return _error("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
        halt = _flag(params.get("halt"), default=False)
        parts: dict[str, dict] = {
            name: {}
            for name in ("result", "result_error", "result_total", "result_next", "result_time")
        }
        for key, command in commands.items():  # the body's order, as PHP reads it
            name, _, query = str(command).partition("?")
            if name.lower() == "batch":
                answer = _error(
                    "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"
                )
            else:
                answer = self._serve(name, decode_form(query), token, True)
            body: dict = (
                answer["json"]
                if isinstance(answer.get("json"), dict)
                else {"error": "INTERNAL_SERVER_ERROR", "error_description": "not JSON"}
            )
            if "error" in body:
                parts["result_error"][key] = {
                    "error": body["error"],
                    "error_description": body.get("error_description", ""),
                }
                if halt:
                    break
            else:
                parts["result"][key] = body.get("result")
                for field in ("total", "next"):
                    if field in body:
                        parts["result_" + field][key] = body[field]
                parts["result_time"][key] = self._time()
        return _answer(200, {"result": php(parts), "time": self._time()})

    def _time(self) -> dict:
        now = self.clock()
        return {"start": now, "finish": now, "duration": 0.0, "processing": 0.0}

    def _serve(self, method: str, params: dict, token: Token, batch: bool) -> dict:
        name = method.lower()
        programmed = self.responses.get(name)
        if programmed is not None:
            answers = programmed["answers"]
            answer = self._programmed(answers[min(programmed["served"], len(answers) - 1)], params)
            programmed["served"] += 1
        else:
            built_in = BUILT_IN.get(name)
            if built_in is None:
                answer = _error(
                    "ERROR_METHOD_NOT_FOUND",
                    f"Method not found! (bx24 kit: no answer programmed for REST "
                    f'method "{method}"; program one with respond(method, '
                    '{"result": ...}))',
                    404,
                )
            else:
                try:
                    answer = built_in(self, params, token)
                except RestError as error:
                    answer = error.answer
        self.log.append(
            {
                "method": method,
                "params": params,
                "user": token.user,
                "batch": batch,
                "status": answer.get("http"),
                "answer": answer.get("json", answer.get("text")),
            }
        )
        while len(self.log) > 10_000:
            self.log.pop(0)
        return answer

    def _programmed(self, answer: dict, params: dict) -> dict:
        if answer.get("network"):
            return {"network": "Failed to fetch"}
        if "body" in answer:
            return {"http": answer.get("status", 200), "text": str(answer["body"])}
        if "items" in answer:
            start = int(params.get("start") or 0)
            items = answer["items"]
            page = {
                "result": items[start : start + PAGE_SIZE],
                "total": len(items),
                "time": self._time(),
            }
            if start + PAGE_SIZE < len(items):
                page["next"] = start + PAGE_SIZE
            return _answer(answer.get("status", 200), page)
        body = {k: v for k, v in answer.items() if k != "status"}
        if "result" in body:
            body.setdefault("time", self._time())
        return _answer(answer.get("status", 400 if "error" in answer else 200), body)

    # -- OAuth (the application's server) ----------------------------------------------------

    def oauth_token(self, query: dict) -> dict:
        """``GET <server_endpoint>token/?grant_type=refresh_token&client_id&client_secret&
        refresh_token``: a new access token and a new refresh token (the old one is spent)."""
        with self.lock:
            if query.get("grant_type") != "refresh_token":
                return _error("unsupported_grant_type", "grant_type must be refresh_token")
            if (
                query.get("client_id") != self.client_id
                or query.get("client_secret") != self.client_secret
            ):
                return _error("invalid_client", "Invalid client credentials", 401)
            old = next(
                (t for t in self.tokens.values() if t.refresh == query.get("refresh_token")), None
            )
            if old is None:
                return _error("invalid_grant", "Invalid refresh token", 400)
            old.refresh = None  # spent: a refresh token is used once
            old.expires = min(old.expires, self.clock())
            token = self.issue(old.user, server=True)
            return _answer(200, self.auth_of(token))

    def token_info(self, access_token: str) -> dict:
        """The OAuth server's ``rest/app.info`` for ``access_token``: whose it is."""
        with self.lock:
            token = self.tokens.get(str(access_token))
            if token is None:
                return _error("invalid_token", "The access token provided is invalid.", 401)
            if token.expires <= self.clock():
                return _error("expired_token", "The access token provided has expired.", 401)
            return _answer(
                200,
                {
                    "result": {
                        "client_id": self.client_id,
                        "scope": ",".join(self.scope),
                        "expires": time.strftime(
                            "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(token.expires)
                        ),
                        "user_id": token.user,
                        "install": {
                            "installed": self.installed,
                            "version": 1,
                            "status": "L",
                            "scope": ",".join(self.scope),
                            "domain": self.domain,
                            "uri": self.origin,
                            "client_endpoint": self.rest_url,
                            "member_id": self.member_id,
                            "member_type": "PORTAL",
                        },
                    }
                },
            )

    def auth_of(self, token: Token) -> dict:
        """The OAuth answer (and ONAPPINSTALL's ``auth[...]``) for ``token``."""
        return {
            "access_token": token.access,
            "refresh_token": token.refresh,
            "expires_in": TOKEN_SECONDS,
            "expires": int(token.expires),
            "domain": self.domain,
            "server_endpoint": self.server_endpoint,
            "client_endpoint": self.rest_url,
            "member_id": self.member_id,
            "scope": ",".join(self.scope),
            "status": "L",
            "user_id": token.user,
            "application_token": self.application_token,
        }

    # -- events to the application's server -----------------------------------------------------

    def event_bodies(self, event: str, **data) -> dict:
        """The form fields Bitrix24 POSTs for ``event`` (``ONAPPINSTALL``: the installing
        admin's tokens; ``ONAPPUNINSTALL``: only the application token), flattened
        PHP-style: ``{"event": ..., "auth[access_token]": ...}``."""
        event = event.upper()
        if event == "ONAPPINSTALL":
            admin = next((u for u, p in self.users.items() if p.get("ADMIN")), 1)
            auth = self.auth_of(self.issue(admin, server=True))
            fields = {"data[VERSION]": "1", "data[LANGUAGE_ID]": self.lang}
        elif event == "ONAPPUNINSTALL":
            auth = {
                "domain": self.domain,
                "member_id": self.member_id,
                "application_token": self.application_token,
            }
            fields = {"data[CLEAN]": str(data.pop("clean", 0))}
        else:
            auth = {
                "domain": self.domain,
                "member_id": self.member_id,
                "application_token": self.application_token,
            }
            fields = {}
        for key, value in data.items():
            fields[f"data[{key}]"] = str(value)
        out = {"event": event, **fields, "ts": str(int(self.clock()))}
        for key, value in auth.items():
            out[f"auth[{key}]"] = str(value)
        return out

    def overtime(self) -> dict:
        """Bitrix24's 5-second rule fires: the worker's bindings are deleted and the notice
        that goes to their errorHandlerUrl is returned (``{"url", "fields"}``: no auth in it)."""
        with self.lock:
            workers = [b for b in self.bindings if b["placement"] == PAGE_BACKGROUND_WORKER]
            self.bindings = [b for b in self.bindings if b not in workers]
            self.unbound_by_overtime.extend(workers)
            url = workers[0]["options"].get("errorHandlerUrl") if workers else None
        return {
            "url": url,
            "fields": {
                "error": "ERROR_PLACEMENT_LOADING_OVERTIME",
                "error_description": "The handler of the PAGE_BACKGROUND_WORKER placement took "
                "longer than 5 seconds to load more than 10 times a day and "
                "was deleted.",
            },
        }


# -- the built-in methods ------------------------------------------------------------------------


def _result(value, **more) -> dict:
    return _answer(200, {"result": value, **more})


def _require_admin(portal: Portal, token: Token) -> None:
    if not portal.user(token.user).get("ADMIN"):
        raise RestError("ACCESS_DENIED", "Access denied! Administrator access required", 403)


def _require_scope(portal: Portal, scope: str) -> None:
    if scope not in portal.scope:
        raise RestError("insufficient_scope", f"The request requires the {scope} scope", 401)


def _user_current(portal, params, token):
    _require_scope(portal, "user")
    profile = {k: v for k, v in portal.user(token.user).items() if k != "ADMIN"}
    return _result(profile)


def _user_admin(portal, params, token):
    return _result(bool(portal.user(token.user).get("ADMIN")))


def _user_get(portal, params, token):
    _require_scope(portal, "user")
    wanted = params.get("ID") or params.get("id")
    found = [
        {k: v for k, v in p.items() if k != "ADMIN"}
        for uid, p in portal.users.items()
        if wanted in (None, "", str(uid))
    ]
    return _result(found, total=len(found))


def _options(store: dict, params: dict):
    name = params.get("option")
    if name is None:
        return _result(dict(store))
    return _result(store.get(str(name), ""))


def _set_options(store: dict, params: dict):
    options = params.get("options")
    if not isinstance(options, dict) or not options:
        raise RestError("ERROR_CORE", "options should be set")
    store.update({str(k): v for k, v in options.items()})
    return _result(True)


def _user_option_get(portal, params, token):
    return _options(portal.user_options.get(token.user, {}), params)


def _user_option_set(portal, params, token):
    return _set_options(portal.user_options.setdefault(token.user, {}), params)


def _app_option_get(portal, params, token):
    return _options(portal.app_options, params)


def _app_option_set(portal, params, token):
    _require_admin(portal, token)
    return _set_options(portal.app_options, params)


def _app_info(portal, params, token):
    return _result(
        {
            "ID": 1,
            "CODE": portal.client_id,
            "VERSION": 1,
            "STATUS": "L",
            "INSTALLED": portal.installed,
            "PAYMENT_EXPIRED": "N",
            "DAYS": None,
            "LICENSE": "en_project",
        }
    )


# placement.* -----------------------------------------------------------------------------------


def _handler_problem(url: str) -> RestError | None:
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https"):
        return RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported event handler protocol")
    if not parts.hostname or "." not in parts.hostname:
        return RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
    return None


def _placement_bind(portal, params, token):
    _require_scope(portal, "placement")
    _require_admin(portal, token)
    placement = str(params.get("PLACEMENT") or "").upper()
    if placement not in PLACEMENTS:
        raise RestError("ERROR_PLACEMENT_NOT_FOUND", "Placement not found")
    handler = str(params.get("HANDLER") or "")
    problem = _handler_problem(handler)
    if problem:
        raise problem
    options = params.get("OPTIONS") if isinstance(params.get("OPTIONS"), dict) else {}
    user_id = int(params["USER_ID"]) if str(params.get("USER_ID") or "").isdigit() else 0
    if user_id and placement != PAGE_BACKGROUND_WORKER:
        raise RestError(
            "ERROR_PLACEMENT_USER_MODE", "User mode is not available for this placement"
        )
    if placement == PAGE_BACKGROUND_WORKER:
        if not str(options.get("errorHandlerUrl") or ""):
            raise RestError("EMPTY_ERROR_HANDLER_URL", "Field errorHandlerUrl is empty.")
        problem = _handler_problem(options["errorHandlerUrl"])
        if problem:
            raise problem
        options = {"errorHandlerUrl": str(options["errorHandlerUrl"])}  # others are dropped
        if any(b["placement"] == placement and b["userId"] == user_id for b in portal.bindings):
            raise RestError("ERROR_PLACEMENT_MAX_COUNT", "Placement max count reached.")
    lang_all = params.get("LANG_ALL") if isinstance(params.get("LANG_ALL"), dict) else {}
    portal.bindings.append(
        {
            "placement": placement,
            "userId": user_id,
            "handler": handler,
            "options": options,
            "title": str(params.get("TITLE") or ""),
            "description": str(params.get("DESCRIPTION") or ""),
            "groupName": str(params.get("GROUP_NAME") or ""),
            "langAll": {str(k): dict(v) for k, v in lang_all.items() if isinstance(v, dict)},
        }
    )
    return _result(True)


def _placement_unbind(portal, params, token):
    _require_scope(portal, "placement")
    _require_admin(portal, token)
    placement = str(params.get("PLACEMENT") or "").upper()
    handler = str(params.get("HANDLER") or "")
    user_id = params.get("USER_ID")
    kept, removed = [], 0
    for binding in portal.bindings:
        if (
            binding["placement"] == placement
            and (not handler or binding["handler"] == handler)
            and (user_id in (None, "") or str(binding["userId"]) == str(user_id))
        ):
            removed += 1
        else:
            kept.append(binding)
    portal.bindings = kept
    return _result({"count": removed})


def _placement_get(portal, params, token):
    _require_scope(portal, "placement")
    return _result([json.loads(json.dumps(b)) for b in portal.bindings])


# telephony.externalLine.* ----------------------------------------------------------------------


def _line_add(portal, params, token):
    _require_scope(portal, "telephony")
    number = str(params.get("NUMBER") or "").strip()
    if not number:
        raise RestError("ERROR_CORE", "NUMBER should not be empty")
    if number in portal.lines:
        raise RestError("ERROR_CORE", "Line already exists")
    line = {
        "ID": str(portal._next()),
        "NUMBER": number,
        "NAME": str(params.get("NAME") or ""),
        "CRM_AUTO_CREATE": "N" if not _flag(params.get("CRM_AUTO_CREATE")) else "Y",
    }
    portal.lines[number] = line
    return _result({"ID": line["ID"]})


def _line_get(portal, params, token):
    _require_scope(portal, "telephony")
    return _result([{k: v for k, v in line.items() if k != "ID"} for line in portal.lines.values()])


def _line_update(portal, params, token):
    _require_scope(portal, "telephony")
    line = portal.lines.get(str(params.get("NUMBER") or ""))
    if line is None:
        raise RestError("ERROR_CORE", "Line is not found")
    if "NAME" in params:
        line["NAME"] = str(params["NAME"])
    if "CRM_AUTO_CREATE" in params:
        line["CRM_AUTO_CREATE"] = "Y" if _flag(params["CRM_AUTO_CREATE"]) else "N"
    return _result({"ID": line["ID"]})


def _line_delete(portal, params, token):
    _require_scope(portal, "telephony")
    if portal.lines.pop(str(params.get("NUMBER") or ""), None) is None:
        raise RestError("ERROR_CORE", "Line is not found")
    return _result(None)


# telephony.externalcall.* ----------------------------------------------------------------------

TYPES = {1: "outgoing", 2: "incoming", 3: "incoming", 4: "callback", 5: "incoming"}


def _call_user(portal, params) -> int:
    if params.get("USER_ID"):
        try:
            user = portal.user(params["USER_ID"])
        except KeyError:
            raise RestError("ERROR_CORE", "User is not found or is not active") from None
    elif params.get("USER_PHONE_INNER"):
        user = next(
            (
                p
                for p in portal.users.values()
                if p.get("UF_PHONE_INNER") == params["USER_PHONE_INNER"]
            ),
            None,
        )
        if user is None:
            raise RestError("ERROR_CORE", "User is not found or is not active")
    else:
        raise RestError("ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set")
    if not user.get("ACTIVE", True):
        raise RestError("ERROR_CORE", "User is not found or is not active")
    return int(user["ID"])


def _register(portal, params, token):
    _require_scope(portal, "telephony")
    user = _call_user(portal, params)
    number = str(params.get("PHONE_NUMBER") or "")
    if not number:
        raise RestError("ERROR_CORE", "PHONE_NUMBER should be set")
    try:
        kind = int(params.get("TYPE") or 0)
    except ValueError:
        kind = 0
    if kind not in TYPES:
        raise RestError("ERROR_CORE", "Unknown TYPE")
    key = (
        number,
        kind,
        user,
        str(params.get("LINE_NUMBER") or ""),
        str(params.get("EXTERNAL_CALL_ID") or ""),
    )
    now = portal.clock()
    known = portal.registrations.get(key)
    if known is not None and now - known[1] < DEDUP_SECONDS:
        return _result(portal.calls[known[0]]["registered"])
    call_id = "externalCall.{}.{}".format(secrets.token_hex(16), int(now))
    entity_type = str(params.get("CRM_ENTITY_TYPE") or "")
    entity_id = (
        int(params["CRM_ENTITY_ID"]) if str(params.get("CRM_ENTITY_ID") or "").isdigit() else None
    )
    created_lead, created = None, []
    if not entity_type and number in portal.contacts:
        entity_type, entity_id = "CONTACT", int(portal.contacts[number]["ID"])
    if not entity_type and _flag(params.get("CRM_CREATE"), default=False):
        created_lead = portal._next()
        portal.leads[created_lead] = {
            "ID": str(created_lead),
            "PHONE": number,
            "SOURCE_ID": str(params.get("CRM_SOURCE") or "CALL"),
            "TITLE": f"Call {number}",
        }
        created = [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": created_lead}]
        entity_type, entity_id = "LEAD", created_lead
    registered = {
        "CALL_ID": call_id,
        "CRM_CREATED_LEAD": created_lead,
        "CRM_CREATED_ENTITIES": created,
        "CRM_ENTITY_TYPE": entity_type or "",
        "CRM_ENTITY_ID": entity_id,
    }
    portal.calls[call_id] = {
        "params": dict(params),
        "user": user,
        "direction": TYPES[kind],
        "registered": registered,
        "finished": None,
    }
    portal.registrations[key] = (call_id, now)
    return _result(registered)


def _finish(portal, params, token):
    _require_scope(portal, "telephony")
    call = portal.calls.get(str(params.get("CALL_ID") or ""))
    if call is None:
        raise RestError(
            "ERROR_CORE", "Call is not found (call should be registered prior to finishing)"
        )
    try:
        duration = max(0, int(params.get("DURATION") or 0))
    except ValueError:
        duration = 0
    activity = portal._next()
    portal.activities[activity] = {"ID": activity, "CALL_ID": params["CALL_ID"]}
    registered = call["registered"]
    record = {
        "ID": str(portal._next()),
        "CALL_ID": params["CALL_ID"],
        "PORTAL_USER_ID": str(call["user"]),
        "PHONE_NUMBER": call["params"].get("PHONE_NUMBER", ""),
        "CALL_TYPE": str(call["params"].get("TYPE", "")),
        "CALL_DURATION": duration,
        "CALL_FAILED_CODE": str(params.get("STATUS_CODE") or ("200" if duration > 0 else "304")),
        "CALL_FAILED_REASON": str(params.get("FAILED_REASON") or ""),
        "CALL_VOTE": int(params["VOTE"]) if str(params.get("VOTE") or "").isdigit() else None,
        "COST": params.get("COST"),
        "COST_CURRENCY": params.get("COST_CURRENCY"),
        "CRM_ENTITY_TYPE": registered.get("CRM_ENTITY_TYPE", ""),
        "CRM_ENTITY_ID": registered.get("CRM_ENTITY_ID"),
        "CRM_ACTIVITY_ID": activity,
    }
    call["finished"] = record
    return _result(record)


def _activity_update(portal, params, token):
    _require_scope(portal, "crm")
    activity = portal.activities.get(
        int(params["id"]) if str(params.get("id") or "").isdigit() else None
    )
    if activity is None:
        raise RestError("ERROR_CORE", "Not found", 400)
    fields = params.get("fields") if isinstance(params.get("fields"), dict) else {}
    activity.update({str(k): v for k, v in fields.items()})
    return _result(True)


def _activity_get(portal, params, token):
    _require_scope(portal, "crm")
    activity = portal.activities.get(
        int(params["id"]) if str(params.get("id") or "").isdigit() else None
    )
    if activity is None:
        raise RestError("ERROR_CORE", "Not found", 400)
    return _result(dict(activity))


def _known_call(portal, params):
    if str(params.get("CALL_ID") or "") not in portal.calls:
        raise RestError("ERROR_CORE", "Call is not found")


def _show(portal, params, token):
    _known_call(portal, params)
    return _result(True)


def _attach_record(portal, params, token):
    _known_call(portal, params)
    return _result({"FILE_ID": portal._next()})


# event.* -----------------------------------------------------------------------------------------


def _event_bind(portal, params, token):
    _require_admin(portal, token)
    event = str(params.get("event") or params.get("EVENT") or "").upper()
    handler = str(params.get("handler") or params.get("HANDLER") or "")
    if not event:
        raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found")
    problem = _handler_problem(handler)
    if problem:
        raise problem
    if any(h["event"] == event and h["handler"] == handler for h in portal.event_handlers):
        raise RestError("ERROR_CORE", "Handler already binded")
    portal.event_handlers.append(
        {"event": event, "handler": handler, "auth_type": int(params.get("auth_type") or 0)}
    )
    return _result(True)


def _event_get(portal, params, token):
    return _result([dict(h) for h in portal.event_handlers])


def _event_unbind(portal, params, token):
    _require_admin(portal, token)
    event = str(params.get("event") or params.get("EVENT") or "").upper()
    handler = str(params.get("handler") or params.get("HANDLER") or "")
    before = len(portal.event_handlers)
    portal.event_handlers = [
        h
        for h in portal.event_handlers
        if not (h["event"] == event and (not handler or h["handler"] == handler))
    ]
    return _result({"count": before - len(portal.event_handlers)})


BUILT_IN = {
    "user.current": _user_current,
    "user.get": _user_get,
    "user.admin": _user_admin,
    "user.option.get": _user_option_get,
    "user.option.set": _user_option_set,
    "app.option.get": _app_option_get,
    "app.option.set": _app_option_set,
    "app.info": _app_info,
    "placement.bind": _placement_bind,
    "placement.unbind": _placement_unbind,
    "placement.get": _placement_get,
    "telephony.externalline.add": _line_add,
    "telephony.externalline.get": _line_get,
    "telephony.externalline.update": _line_update,
    "telephony.externalline.delete": _line_delete,
    "telephony.externalcall.register": _register,
    "telephony.externalcall.finish": _finish,
    "telephony.externalcall.show": _show,
    "telephony.externalcall.hide": _show,
    "telephony.externalcall.attachrecord": _attach_record,
    "crm.activity.update": _activity_update,
    "crm.activity.get": _activity_get,
    "event.bind": _event_bind,
    "event.get": _event_get,
    "event.unbind": _event_unbind,
}
