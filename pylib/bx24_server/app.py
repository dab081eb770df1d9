"""The ASGI application: a site's mounts and page, its routes, and what every response carries.

| URL                                 | answer                                               |
|-------------------------------------|------------------------------------------------------|
| ``/`` (GET, HEAD, POST)             | ``site.page(query)``, ``no-cache`` (Bitrix24 POSTs)  |
| ``/<path>`` of ``site.pages``       | ``site.page(query, kind)``: the application's pages  |
| ``/healthz``                        | ``ok``                                               |
| ``/error-handler`` (POST)           | Bitrix24's deactivation notice → JSON lines          |
| ``/frame-report`` (POST)            | a frame's report about itself → JSON lines           |
| ``site.routes``                     | the site's own endpoints (the emulator's portal)     |
| ``/<mount prefix><path>`` (GET, HEAD) | the file the mount resolves, with its cache policy |

The endpoints' names are in :mod:`.endpoints`, their table in :meth:`App.routes`. What the site
serves is given (``site.mounts``, ``site.page``, ``site.routes``): this module knows no layout.
Anything that does not resolve to a route or to a regular file of a mount is a 404.
"""

from __future__ import annotations

import json
import logging
import time

from . import endpoints
from .accesslog import AccessLog
from .asgi import ClientGone, HttpError, header, read_body, request_headers, send_response
from .compression import EncodedCache
from .config import Config
from .errorhandler import PlacementErrorLog, parse_notice
from .framereport import FrameReportLog, parse_report
from .mounts import REVALIDATE, find
from .noticelog import NoticeLog, loads, sanitize
from .ratelimit import RateLimiter
from .redaction import printable, redact_path
from .routes import Request, Route
from .routes import find as find_route
from .safepath import url_segments
from .static import FileSender

log = logging.getLogger("bx24_server")

FRAME_METHODS = ("GET", "HEAD", "POST")
FILE_METHODS = ("GET", "HEAD")
NOTICE_METHODS = ("POST",)


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise HttpError(
            405, f"method {method} not allowed here", [(b"allow", ", ".join(allowed).encode())]
        )


def _has_body(scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _not_found() -> HttpError:
    return HttpError(404, "not found")


HTML = b"text/html; charset=utf-8"


class App:
    """Routes requests, adds the security headers, writes the access log. See the module doc."""

    def __init__(self, config: Config, site):
        self.config = config
        self.site = site
        self.cache = EncodedCache(config.cache_dir, config.memory_cache_bytes)
        self.files = FileSender(self.cache)
        self.access_log = AccessLog(config.access_log, config.log_max_bytes, config.log_keep)
        self.error_log = PlacementErrorLog(
            NoticeLog(config.error_log, config.log_max_bytes, config.log_keep)
        )
        self.report_log = FrameReportLog(
            NoticeLog(config.report_log, config.log_max_bytes, config.log_keep)
        )
        # One bucket per client for both endpoints: what one address can make us write.
        self.notice_rate = RateLimiter(config.notices_per_minute, config.notice_burst)
        self.application = _application(config)  # the Bitrix24 application's server, if any
        self.routes = self.own_routes() + list(getattr(site, "routes", ()))
        # the site's other pages (the application's install and main pages), by URL path
        self.page_paths = {
            b"/" + path.encode(): kind for kind, path in getattr(site, "pages", {}).items()
        }

    def own_routes(self) -> list[Route]:
        return [
            Route(endpoints.HEALTHZ, FILE_METHODS, self._healthz),
            Route(endpoints.ERROR_HANDLER, NOTICE_METHODS, self._error_notice),
            Route(endpoints.ERROR_HANDLER, NOTICE_METHODS, self._portal_notice, prefix=True),
            Route(endpoints.FRAME_REPORT, NOTICE_METHODS, self._frame_report),
            Route(endpoints.EVENTS, NOTICE_METHODS, self._event),
            Route(endpoints.INSTALL, NOTICE_METHODS, self._handoff),
            Route(endpoints.PORTAL, NOTICE_METHODS, self._portal_status),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.access_log.open()
                except OSError as error:
                    await send(
                        {
                            "type": "lifespan.startup.failed",
                            "message": f"cannot open the access log: {error}",
                        }
                    )
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.access_log.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send):
        started = time.perf_counter()
        state = {"status": 0, "sent": 0, "body": _has_body(scope)}

        async def receive_body():
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                state["body"] = False
            return message

        async def send_with_headers(message):
            # The security headers are uvicorn's default headers (serving.uvicorn_config).
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                if state["body"]:
                    # A body left unread is not waited for: the connection ends with the answer
                    # (it could otherwise trickle in for as long as the client likes).
                    message = dict(
                        message, headers=list(message["headers"]) + [(b"connection", b"close")]
                    )
            elif message["type"] == "http.response.body":
                state["sent"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._route(scope, receive_body, send_with_headers)
        except HttpError as error:
            if not state["status"]:
                await send_response(
                    send_with_headers,
                    error.status,
                    (error.message + "\n").encode(),
                    error.headers,
                    head=scope["method"] == "HEAD",
                )
        except ClientGone:
            state["status"] = state["status"] or 499  # nginx's code for "client closed"
        except Exception:
            log.exception(
                "error while answering %s %s",
                printable(scope["method"]),
                redact_path(scope.get("raw_path", b"")[:200]),
            )
            if not state["status"]:
                await send_response(send_with_headers, 500, b"internal server error\n")
            else:
                raise  # headers are out: let uvicorn drop the connection
        finally:
            client = scope.get("client") or ("", 0)
            self.access_log.write(
                client=client[0],
                method=scope["method"],
                raw_path=scope.get("raw_path") or scope["path"].encode(),
                query=scope.get("query_string", b""),
                status=state["status"],
                sent=state["sent"],
                duration=time.perf_counter() - started,
            )

    def reopen_logs(self) -> None:
        """Close every log file: the next line of each goes to the file at its path then
        (SIGHUP, after logrotate moved them)."""
        for log_file in (self.access_log, self.error_log.log, self.report_log.log):
            log_file.reopen()

    async def _route(self, scope, receive, send):
        method = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        headers = request_headers(scope)

        kind = "worker" if raw_path == b"/" else self.page_paths.get(raw_path)
        if kind is not None:
            _allow(method, FRAME_METHODS)
            query = scope.get("query_string", b"")
            if method == "POST":
                # Bitrix24's form (tokens included) is read only to bound it, then dropped; its
                # query never selects a page variant (the emulator's is for a developer's GET).
                await read_body(receive, headers, self.config.max_body, self.config.body_timeout)
                query = b""
            return await self._page(send, headers, method, query, kind)

        directory_index = raw_path.endswith(b"/")
        segments = url_segments(raw_path[1:-1] if directory_index else raw_path[1:])
        if not segments or not raw_path.startswith(b"/"):
            raise _not_found()

        found = find_route(self.routes, segments, directory_index)
        if found is not None:
            route, rest = found
            _allow(method, route.methods)
            return await route.answer(Request(scope, receive, send, headers, rest))

        _allow(method, FILE_METHODS)
        found = find(self.site.mounts, segments)
        if found is None:
            raise _not_found()
        mount, rest = found
        if not rest:  # the prefix itself: its index page, if it has one (no listings)
            index = mount.index()
            if index is None:
                raise _not_found()
            if not directory_index:
                query = scope.get("query_string", b"")
                location = b"/" + mount.prefix.encode() + (b"?" + query if query else b"")
                return await send_response(send, 308, b"", [(b"location", location)])
            rest = [index]
        elif directory_index:
            raise _not_found()
        path = mount.resolve(rest)
        if path is None:
            raise _not_found()
        await self.files.send(
            send, path, headers, method=method, cache_control=mount.cache, persist=mount.persist
        )

    async def _page(self, send, headers, method, query, kind):
        try:
            page = self.site.page(query) if kind == "worker" else self.site.page(query, kind)
        except Exception:
            log.exception("the page could not be made")
            raise HttpError(503, "the frame is not available (see the server log)") from None
        await self.files.send_page(
            send, page, headers, method=method, cache_control=REVALIDATE, content_type=HTML
        )

    def _limit(self, client: str) -> None:
        if not self.notice_rate.allow(client):
            raise HttpError(
                429,
                "too many notices from this address: retry later",
                [(b"retry-after", str(self.notice_rate.retry_after()).encode())],
            )

    async def _healthz(self, request: Request):
        await send_response(
            request.send,
            200,
            b"ok\n",
            [(b"cache-control", b"no-store")],
            head=request.method == "HEAD",
        )

    async def _error_notice(self, request: Request):
        scope, send, headers, client = request.scope, request.send, request.headers, request.client
        body = await read_body(
            request.receive, headers, self.config.max_body, self.config.body_timeout
        )
        self._limit(client)
        fields = parse_notice(
            header(headers, b"content-type"), body, scope.get("query_string", b"")
        )
        try:
            self.error_log.append(fields, client)
        except OSError:
            # Shown on stderr by the log; 503 tells Bitrix24 to send it again later.
            raise HttpError(
                503, "the notice could not be stored: retry later", [(b"retry-after", b"60")]
            ) from None
        await send_response(send, 200, b"ok\n", [(b"cache-control", b"no-store")])

    async def _frame_report(self, request: Request):
        send, headers, client = request.send, request.headers, request.client
        body = await read_body(
            request.receive, headers, self.config.max_body, self.config.body_timeout
        )
        self._limit(client)
        report = parse_report(body)
        try:
            self.report_log.append(report, client, header(headers, b"user-agent"))
        except OSError:
            log.warning("a frame report could not be stored in %s", self.report_log.log.path)
            raise HttpError(
                503, "the report could not be stored", [(b"retry-after", b"60")]
            ) from None
        await send_response(send, 204, b"", [(b"cache-control", b"no-store")], content_type=None)

    # -- the application's server (application.py) ----------------------------------------

    def _app(self):
        if self.application is None:
            raise HttpError(
                404,
                "this server is not the application's server (it has no "
                "client_id and client_secret)",
            )
        return self.application

    async def _json_body(self, request: Request) -> dict:
        body = await read_body(
            request.receive, request.headers, self.config.max_body, self.config.body_timeout
        )
        try:
            data = loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "a JSON object, please") from None
        if not isinstance(data, dict):
            raise HttpError(400, "a JSON object, please")
        return data

    async def _answer_json(self, send, data, status: int = 200):
        await send_response(
            send,
            status,
            json.dumps(data).encode(),
            [(b"cache-control", b"no-store")],
            content_type=b"application/json; charset=utf-8",
        )

    async def _refused(self, request: Request, work) -> tuple[bool, object]:
        """``await work``: (True, its result), or (False, None) once a Refused was answered
        with its status (its reason, no secret)."""
        from .application import Refused

        try:
            return True, await work
        except Refused as refused:
            await self._answer_json(request.send, {"error": refused.reason}, refused.status)
            return False, None

    async def _portal_notice(self, request: Request):
        """A notice on a portal's own errorHandlerUrl (error-handler/<member id>/<signature>)."""
        application = self._app()
        if len(request.rest) != 2:
            raise _not_found()
        headers = request.headers
        body = await read_body(
            request.receive, headers, self.config.max_body, self.config.body_timeout
        )
        self._limit(request.client)
        fields = parse_notice(
            header(headers, b"content-type"), body, request.scope.get("query_string", b"")
        )
        member, signature = request.rest
        done, _ = await self._refused(
            request, application.notice(member, signature, sanitize(fields))
        )
        if not done:
            return
        try:
            self.error_log.append({**fields, "portal": member}, request.client)
        except OSError:
            pass  # the portal's store has it; the log's own failure is on stderr
        await send_response(request.send, 200, b"ok\n", [(b"cache-control", b"no-store")])

    async def _event(self, request: Request):
        """One of Bitrix24's events (form fields, auth[...]): answered at once."""
        application = self._app()
        headers = request.headers
        body = await read_body(
            request.receive, headers, self.config.max_body, self.config.body_timeout
        )
        self._limit(request.client)
        fields = parse_notice(header(headers, b"content-type"), body, b"")
        done, what = await self._refused(request, application.event(fields))
        if done:
            await self._answer_json(request.send, {"result": what})

    async def _handoff(self, request: Request):
        application = self._app()
        payload = await self._json_body(request)
        self._limit(request.client)
        done, answer = await self._refused(request, application.handoff(payload))
        if done:
            await self._answer_json(request.send, answer)

    async def _portal_status(self, request: Request):
        application = self._app()
        payload = await self._json_body(request)
        self._limit(request.client)
        done, answer = await self._refused(request, application.status(payload))
        if done:
            await self._answer_json(request.send, answer)


def _application(config: Config):
    """The application's server of ``config`` (:mod:`.application`), or None."""
    if not config.application:
        return None
    from .application import Application
    from .portalclient import PortalClient
    from .portalstore import open_store
    from .signing import signing_key

    assert config.client_id is not None and config.client_secret is not None
    return Application(
        PortalClient(config.client_id, config.client_secret, config.oauth_server),
        open_store(config.portal_store),
        signing_key(config.client_secret),
        rebinds_per_day=config.rebinds_per_day,
        backoff=config.rebind_backoff,
    )


def create_app(config: Config, site) -> App:
    """The ASGI application serving ``site`` with ``config`` (uvicorn, or any ASGI server, can
    run it). ``site`` has ``mounts`` (:mod:`.mounts`) and ``page(query) -> bytes``."""
    return App(config, site)
