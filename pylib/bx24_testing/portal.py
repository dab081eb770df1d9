"""Stand-ins for Bitrix24 portals: the pages the frame loads in, cross-site, and the portal's
HTTP side (REST, the frames' init data, OAuth), answered from :class:`bx24_testing.bitrix24.Portal`.

On a portal the worker frame is an iframe of another site (the portal's domain embeds your
host), so the browser treats it as third-party: its storage may be blocked or partitioned, its
timers and rendering throttled. Tests see that only if the frame is loaded the same way, so the
kit loads it from here: a small HTTP server on loopback whose pages insert hidden iframes (named
as Bitrix24 names them: ``<portal host>|<1 for https>|<APP_SID>``, with the same ``allow``) and
POST Bitrix24's form into them.

Each :class:`~bx24_testing.bitrix24.Portal` answers on a host of its own, all on loopback:
``<name>.portal.localhost`` when the frame is on 127.0.0.1 (two of them are one site to the
browser, as ``a.bitrix24.com`` and ``b.bitrix24.com`` are), ``127.0.0.1`` when the frame is on a
``localhost`` name. A browser refuses a public page that embeds a loopback one, so the portal
cannot be a made-up public name.

What each host answers (:class:`PortalHttp`, also mounted by ``bx24 serve --emulator``):

| request                                   | answer                                            |
|-------------------------------------------|---------------------------------------------------|
| ``GET /crm/deal/?frame=URL&...``          | a page with one frame (:meth:`StandIn.url_for`)   |
| ``GET /portal/?user=N&app=1``             | a page as the user sees it: the bound workers,    |
|                                           | and the application's page (install or main)      |
| ``POST /rest/<method>.json``              | the portal's REST (CORS: any origin)              |
| ``POST /_bx24portal/<action>``            | the frames' side of the portal: ``init``,         |
|                                           | ``refresh``, ``install-finish``, ``user-option``, |
|                                           | ``app-option``, ``expire``; and the tests':       |
|                                           | ``respond``, ``session``                          |
| ``GET /_bx24oauth/oauth/token/?...``      | the OAuth server, one for all portals, on every   |
| ``GET /_bx24oauth/rest/app.info?auth=``   | host (:attr:`StandIn.oauth_url`): refresh a token,|
|                                           | whose a token is                                  |

The frame's ``Content-Security-Policy: frame-ancestors`` must let these pages embed it: the
plugin's server adds :data:`ANCESTORS`; add it to ``--frame-ancestors`` of a ``bx24 serve`` you
test against.
"""

from __future__ import annotations

import itertools
import json
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from .bitrix24 import OAUTH_PREFIX, PAGE_BACKGROUND_WORKER, Portal

# CSP sources that let the stand-ins embed a frame served on loopback, whatever their port.
ANCESTORS = "http://localhost:* http://*.localhost:* http://127.0.0.1:*"
FRAME_NAME_SEPARATOR = "|"
SITE = "portal.localhost"  # every named portal is <name>.portal.localhost: one site
MAX_BODY = 1 << 20
ALLOW = "geolocation *; microphone *; camera *; autoplay *;"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bitrix24 portal (stand-in)</title></head>
<body>
<p>A portal page (the bx24 kit's stand-in, {domain}, user {user}): the frames below are loaded as
Bitrix24 loads them, with a POST, from another site.</p>
{frames}
<script>
// Each frame's init data, as the portal hands it to Bitrix24's library (getInitData).
const initData = {init};
addEventListener("message", (event) => {{
  const asked = event.data;
  if (!asked || asked.bx24Stub !== "getInitData" || !(asked.sid in initData)) return;
  event.source.postMessage({{bx24Portal: "initData", sid: asked.sid, data: initData[asked.sid]}},
                           "*");
}});
for (const form of document.forms) form.submit();
// The application's install page called BX24.installFinish(): the portal reloads the page,
// which shows the main page and the bound workers now.
addEventListener("message", (event) => {{
  if (event.data && event.data.bx24Portal === "installFinished") location.reload();
}});
</script>
</body>
</html>
"""


def _frame(name: str, url: str, fields: dict, visible: bool = False) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">'
        for k, v in fields.items()
    )
    style = (
        "width:100%; height:600px; border:1px solid #ccc"
        if visible
        else "position:absolute; width:0; height:0; border:0"
    )
    return (
        f'<iframe name="{escape(name)}" allow="{ALLOW}" style="{style}"></iframe>\n'
        f'<form method="post" action="{escape(url)}" target="{escape(name)}">{inputs}</form>'
    )


def post_fields(portal: Portal, session) -> dict:
    """What Bitrix24 POSTs to a handler for ``session`` (the frame needs none of it: its
    library gets everything from the portal; bx24 serve drops it unread)."""
    data = portal.init_data(session.sid)
    return {
        "DOMAIN": portal.domain,
        "PROTOCOL": data["PROTOCOL"],
        "LANG": data["LANG"],
        "APP_SID": session.sid,
        "AUTH_ID": data["AUTH_ID"],
        "AUTH_EXPIRES": data["AUTH_EXPIRES"],
        "REFRESH_ID": data["REFRESH_ID"],
        "member_id": portal.member_id,
        "status": "L",
        "PLACEMENT": session.placement,
        "PLACEMENT_OPTIONS": json.dumps(session.options),
    }


def frame_name(portal: Portal, session) -> str:
    return FRAME_NAME_SEPARATOR.join([portal.domain, "1" if portal.https else "0", session.sid])


class PortalHttp:
    """The HTTP side of portals, by host (``host:port`` → :class:`Portal`): REST, the frames'
    init data and actions, OAuth, and the pages. ``handle()`` returns ``(status, headers,
    body)``; the stand-in server and the emulator's routes both call it."""

    def __init__(self):
        self.portals: dict[str, Portal] = {}
        self.lock = threading.Lock()

    def add(self, portal: Portal) -> Portal:
        with self.lock:
            self.portals[portal.domain.lower()] = portal
        return portal

    def find(self, host: str) -> Portal | None:
        return self.portals.get((host or "").lower())

    def handle(
        self, host: str, method: str, target: str, body: bytes, content_type: str = ""
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.answer(self.find(host), method, target, body, content_type, host)

    def answer(
        self,
        portal: Portal | None,
        method: str,
        target: str,
        body: bytes,
        content_type: str = "",
        host: str = "",
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """``handle`` for a given portal (None: none answers there)."""
        parts = urlsplit(target)
        path = parts.path
        if method == "OPTIONS":  # a preflight: the frames' requests are simple, answer anyway
            return (
                204,
                _cors(
                    [
                        ("Access-Control-Allow-Methods", "POST, GET"),
                        ("Access-Control-Allow-Headers", "Content-Type"),
                        ("Access-Control-Max-Age", "600"),
                    ]
                ),
                b"",
            )
        if path.startswith(OAUTH_PREFIX) and method in ("GET", "POST"):
            # Bitrix24's OAuth server is one for every portal: it answers on any host here
            query = dict(
                parse_qsl(parts.query or body.decode("utf-8", "replace"), keep_blank_values=True)
            )
            return _rest(self.oauth(path[len(OAUTH_PREFIX) - 1 :], query))
        if portal is None:
            return _text(404, f"no portal answers on {host}")
        if len(body) > MAX_BODY:
            return _text(413, "too large")
        text = body.decode("utf-8", "replace")
        if path.startswith("/rest/") and path.endswith(".json") and method in ("POST", "GET"):
            method_name = path[len("/rest/") : -len(".json")]
            if method == "GET":
                text = parts.query
            return _rest(portal.rest(method_name, text))
        if path.startswith("/_bx24portal/") and method == "POST":
            return self._action(portal, path[len("/_bx24portal/") :], text, content_type)
        if method == "GET" and path == "/portal/":
            return _html(self.portal_page(portal, parse_qs(parts.query)))
        if method == "GET" and parts.query and "frame" in parse_qs(parts.query):
            return _html(self.frame_page(portal, parse_qs(parts.query)))
        return _text(404, "not found")

    def oauth(self, path: str, query: dict) -> dict:
        """The OAuth server (paths after its prefix): ``/oauth/token/`` (refresh) and
        ``/rest/app.info`` (whose a token is), answered by the portal that issued the token."""
        with self.lock:
            portals = list(self.portals.values())
        if path == "/oauth/token/":
            owner = next(
                (
                    p
                    for p in portals
                    if any(t.refresh == query.get("refresh_token") for t in list(p.tokens.values()))
                ),
                None,
            )
            if owner is None:
                return _error_answer(400, "invalid_grant", "Invalid refresh token")
            return owner.oauth_token(query)
        if path.rstrip("/") == "/rest/app.info":
            owner = next((p for p in portals if query.get("auth") in p.tokens), None)
            if owner is None:
                return _error_answer(401, "invalid_token", "The access token provided is invalid.")
            return owner.token_info(query.get("auth", ""))
        return _error_answer(404, "ERROR_METHOD_NOT_FOUND", "no such OAuth method")

    # -- the frames' side ----------------------------------------------------------------------

    def _action(self, portal: Portal, action: str, text: str, content_type: str):
        try:
            data = (
                json.loads(text or "{}")
                if not content_type.startswith("application/x-www-form-urlencoded")
                else dict(parse_qsl(text))
            )
        except ValueError:
            return _json(400, {"error": "a JSON object, please"})
        if not isinstance(data, dict):
            return _json(400, {"error": "a JSON object, please"})
        try:
            return _json(200, self._act(portal, action, data))
        except KeyError as error:
            return _json(404, {"error": str(error).strip("'\"")})
        except ValueError as error:
            return _json(400, {"error": str(error)})

    def _act(self, portal: Portal, action: str, data: dict):
        sid = str(data.get("sid", ""))
        if action == "init":
            return portal.init_data(sid)
        if action == "refresh":
            return portal.refresh_session(sid)
        if action == "install-finish":
            return {"installed": portal.install_finish(sid)}
        if action == "user-option":
            session = portal.session(sid)
            portal.set_user_option(session.user, data["name"], data.get("value", ""))
            return {"ok": True}
        if action == "app-option":
            session = portal.session(sid)
            if not portal.user(session.user).get("ADMIN"):
                return {"ok": False, "error": "ACCESS_DENIED"}
            portal.set_app_option(data["name"], data.get("value", ""))
            return {"ok": True}
        if action == "expire":
            portal.expire(sid)
            return {"ok": True}
        if action == "call":
            session = portal.session(sid)
            portal.known_call(
                str(data["CALL_ID"]),
                str(data.get("PHONE_NUMBER", "")),
                str(data.get("DIRECTION", "outgoing")),
                session.user,
            )
            return {"ok": True}
        if action == "respond":
            portal.respond(str(data.get("method", "")), data.get("answer"))
            return {"ok": True}
        if action == "session":
            session = portal.open_session(
                int(data.get("user", 1)),
                str(data.get("placement", PAGE_BACKGROUND_WORKER)),
                data.get("options") or {},
                data.get("install"),
            )
            return {
                "sid": session.sid,
                "name": frame_name(portal, session),
                "init": portal.init_data(session.sid),
            }
        raise KeyError(f"no portal action {action!r}")

    # -- pages -------------------------------------------------------------------------------

    def frame_page(self, portal: Portal, query: dict) -> str:
        """One frame at ``frame`` (a URL), POSTed ``fields`` (merged over what Bitrix24 sends),
        for ``user`` in ``placement`` with ``options``."""

        def one(name, default=""):
            return query.get(name, [default])[0]

        url = one("frame")
        options = json.loads(one("options", "null") or "null")
        if options is None:
            options = {"ID": PAGE_BACKGROUND_WORKER, "URI": "/crm/deal/"}
        session = portal.open_session(
            int(one("user", "1")),
            one("placement", PAGE_BACKGROUND_WORKER),
            options,
            None if one("install") == "" else one("install") == "1",
        )
        fields = {**post_fields(portal, session), **json.loads(one("fields", "{}"))}
        return _page(
            portal, session.user, [(session, _frame(frame_name(portal, session), url, fields))]
        )

    def portal_page(self, portal: Portal, query: dict) -> str:
        """A page of the portal as ``user`` sees it: a worker frame for each
        PAGE_BACKGROUND_WORKER binding that applies to them (once the application is
        installed), and with ``app=1`` the application's page: its install page while it is
        not installed, its main page after (``portal.app_urls``)."""
        user = int(query.get("user", ["1"])[0])
        uri = query.get("uri", ["/crm/deal/"])[0]
        frames = []  # (session, html)
        if query.get("app", [""])[0] == "1":
            urls = portal.app_urls
            install = not portal.installed
            url = urls.get("install" if install else "main")
            if url:
                session = portal.open_session(user, "DEFAULT", {}, install)
                frames.append(
                    (
                        session,
                        _frame(
                            frame_name(portal, session),
                            url,
                            post_fields(portal, session),
                            visible=True,
                        ),
                    )
                )
        if portal.installed:
            for binding in portal.bindings:
                if binding["placement"] != PAGE_BACKGROUND_WORKER or binding["userId"] not in (
                    0,
                    user,
                ):
                    continue
                session = portal.open_session(
                    user, PAGE_BACKGROUND_WORKER, {"ID": PAGE_BACKGROUND_WORKER, "URI": uri}
                )
                frames.append(
                    (
                        session,
                        _frame(
                            frame_name(portal, session),
                            binding["handler"],
                            post_fields(portal, session),
                        ),
                    )
                )
        return _page(portal, user, frames)


def _page(portal: Portal, user: int, frames: list) -> str:
    init = {session.sid: portal.init_data(session.sid) for session, _ in frames}
    script_json = json.dumps(init).replace("<", "\\u003c")
    return PAGE.format(
        domain=escape(portal.domain),
        user=user,
        init=script_json,
        frames="\n".join(html for _, html in frames),
    )


def _error_answer(status: int, code: str, description: str) -> dict:
    return {"http": status, "json": {"error": code, "error_description": description}}


def _cors(headers):
    return [("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-store")] + headers


def _rest(answer: dict):
    if "network" in answer:
        return 0, [], b""  # no answer at all: the connection is dropped
    if "text" in answer:
        return (
            answer["http"],
            _cors([("Content-Type", "text/html; charset=utf-8")]),
            answer["text"].encode(),
        )
    return _json(answer["http"], answer["json"])


def _json(status: int, data):
    return (
        status,
        _cors([("Content-Type", "application/json; charset=utf-8")]),
        json.dumps(data).encode(),
    )


def _text(status: int, text: str):
    return status, _cors([("Content-Type", "text/plain; charset=utf-8")]), text.encode()


def _html(text: str):
    return (
        200,
        [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
        text.encode(),
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    http: PortalHttp

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        status, headers, data = self.http.handle(
            self.headers.get("Host", ""),
            self.command,
            self.path,
            body,
            self.headers.get("Content-Type", ""),
        )
        if status == 0:  # a network failure: close without an answer
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_OPTIONS = _answer

    def log_message(self, *args):
        pass


class StandIn:
    """The stand-ins' server (one per process, started on first use: :func:`portal`)."""

    def __init__(self):
        self.http = PortalHttp()
        handler = type("Handler", (_Handler,), {"http": self.http})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._names = itertools.count(1)
        self._default: dict[str, Portal] = {}
        threading.Thread(target=self._server.serve_forever, name="bx24-portal", daemon=True).start()

    @property
    def oauth_url(self) -> str:
        """The OAuth server of every portal here (``bx24 serve --oauth-server``)."""
        return f"http://127.0.0.1:{self.port}{OAUTH_PREFIX}"

    def new_portal(
        self, name: str | None = None, frame_url: str = "http://127.0.0.1/", **options
    ) -> Portal:
        """A fresh portal (``name``: its host is ``<name>.portal.localhost``) that can embed a
        frame at ``frame_url`` cross-site; ``options`` go to :class:`Portal`."""
        host = self._host_for(frame_url, name or f"p{next(self._names)}")
        return self.http.add(Portal(f"{host}:{self.port}", https=False, **options))

    def _host_for(self, frame_url: str, name: str) -> str:
        frame_host = (urlsplit(frame_url).hostname or "").lower()
        if frame_host == "localhost" or frame_host.endswith(".localhost"):
            return "127.0.0.1"  # the other loopback name: another site
        return f"{name}.{SITE}"

    def default_portal(self, frame_url: str) -> Portal:
        """The portal frames at ``frame_url`` load in when a test names none."""
        host = self._host_for(frame_url, "default")
        if host not in self._default:
            self._default[host] = self.new_portal("default", frame_url)
        return self._default[host]

    def origin_for(self, frame_url: str, portal: Portal | None = None) -> str:
        """The origin of the portal a frame at ``frame_url`` is embedded by."""
        return (portal or self.default_portal(frame_url)).origin

    def url_for(
        self,
        frame_url: str,
        fields: dict | None = None,
        portal: Portal | None = None,
        user: int = 1,
        placement: str = PAGE_BACKGROUND_WORKER,
        options: dict | None = None,
    ) -> str:
        """The page of ``portal`` that loads ``frame_url`` (POSTed Bitrix24's fields, and
        ``fields`` over them) for ``user`` in ``placement``."""
        portal = portal or self.default_portal(frame_url)
        query = {
            "frame": frame_url,
            "fields": json.dumps(fields or {}),
            "user": str(user),
            "placement": placement,
        }
        if options is not None:
            query["options"] = json.dumps(options)
        return f"{portal.origin}/crm/deal/?{urlencode(query)}"

    def page_url(
        self, portal: Portal, user: int = 1, app: bool = False, uri: str = "/crm/deal/"
    ) -> str:
        """A page of ``portal`` as ``user`` sees it (:meth:`PortalHttp.portal_page`)."""
        query = {"user": str(user), "uri": uri}
        if app:
            query["app"] = "1"
        return f"{portal.origin}/portal/?{urlencode(query)}"


def route(page, portal: Portal, hosts=()) -> PortalHttp:
    """Answer ``portal``'s HTTP side (REST, the frames' actions, OAuth) in ``page`` through
    Playwright's routing, on its domain and ``hosts`` (other names a test gives it): for a frame
    loaded without a portal page around it (a test page at Bitrix24's own URLs)."""
    http = PortalHttp()
    http.add(portal)
    names = {portal.domain.lower(), *(h.lower() for h in hosts)}

    def answer(route):
        request = route.request
        if (urlsplit(request.url).netloc or "").lower() not in names:
            route.continue_()
            return
        status, headers, body = http.handle(
            portal.domain,
            request.method,
            request.url,
            request.post_data_buffer or b"",
            request.headers.get("content-type", ""),
        )
        if status == 0:
            route.abort("failed")
        else:
            route.fulfill(status=status, headers=dict(headers), body=body)

    for pattern in ("**/rest/**", "**/_bx24portal/**", "**" + OAUTH_PREFIX + "**"):
        page.route(pattern, answer)
    return http


_stand_in = None
_lock = threading.Lock()


def portal() -> StandIn:
    global _stand_in
    with _lock:
        if _stand_in is None:
            _stand_in = StandIn()
        return _stand_in
