"""The ASGI application: the URL table of docs/architecture.md, and what every response carries.

| URL                                      | served from                                   |
|------------------------------------------|-----------------------------------------------|
| ``/`` (GET, HEAD, POST)                  | ``frame/index.html``                          |
| ``/healthz``                             | ``ok``                                        |
| ``/error-handler`` (POST)                | Bitrix24's deactivation notice → JSON lines   |
| ``/?emulator`` (GET, HEAD)               | ``index.html`` with BX24 → the stub           |
| ``/emulator/bx24-stub.js``               | ``bx24_testing/static/bx24-stub.js``          |
| ``/emulator/...``                        | the emulator folder (``/emulator/``: index)   |
| ``/runtime/npm/<package>@<version>/...`` | ``runtime/node_modules/<package>/...``        |
| ``/runtime/pypi/<wheel>``                | ``runtime/wheels/<wheel>``                    |
| ``/runtime/snapshot/...``                | ``runtime/snapshot/...`` (``<hash>.snapshot``: immutable) |
| ``/pylib/bx24/...``                      | the ``bx24`` package folder                   |
| ``/<path>``                              | ``frame/<path>``                              |

``runtime/``, ``pylib/`` and ``emulator/`` are reserved: frame files with those names are not
served. Anything that does not resolve to a regular file inside its folder is a 404.
"""

from __future__ import annotations

import json
import re
import logging
import time
from pathlib import Path

from .accesslog import AccessLog
from .asgi import ClientGone, HttpError, header, read_body, request_headers, send_response
from .compression import EncodedCache
from .config import Config
from .emulatorframe import emulator_frame, stub_path, wants_emulator
from .errorhandler import PlacementErrorLog, parse_notice
from .redaction import printable
from .safepath import resolve_file, url_segments
from .static import FileSender

log = logging.getLogger("bx24_server")

FRAME_METHODS = ("GET", "HEAD", "POST")
FILE_METHODS = ("GET", "HEAD")
NOTICE_METHODS = ("POST",)


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise HttpError(405, f"method {method} not allowed here",
                        [(b"allow", ", ".join(allowed).encode())])


_HASHED_IMAGE = re.compile(r"[0-9a-f]{16}\.snapshot")


def _is_hashed_image(segments: list[str]) -> bool:
    return bool(_HASHED_IMAGE.fullmatch(segments[-1]))


def _not_found() -> HttpError:
    return HttpError(404, "not found")


class _InstalledVersions:
    """The ``version`` of each installed npm package, re-read when its package.json changes."""

    def __init__(self):
        self._known: dict[Path, tuple[tuple[int, int], str | None]] = {}

    def version(self, package_dir: Path) -> str | None:
        manifest = package_dir / "package.json"
        try:
            st = manifest.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        known = self._known.get(manifest)
        if known is None or known[0] != stamp:
            try:
                version = json.loads(manifest.read_text("utf-8")).get("version")
            except (OSError, ValueError, AttributeError):
                version = None
            known = (stamp, version if isinstance(version, str) else None)
            self._known[manifest] = known
        return known[1]


class App:
    """Routes requests, adds the security headers, writes the access log. See the module doc."""

    def __init__(self, config: Config):
        self.config = config
        self.cache = EncodedCache(config.cache_dir, config.memory_cache_bytes)
        self.files = FileSender(self.cache)
        self.access_log = AccessLog(config.access_log)
        self.error_log = PlacementErrorLog(config.error_log)
        self.npm = _InstalledVersions()
        self.security_headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", f"frame-ancestors {config.frame_ancestors}".encode()),
            # The frame's own URL may carry Bitrix24 parameters: never pass it on as a Referer.
            (b"referrer-policy", b"no-referrer"),
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
                    await send({"type": "lifespan.startup.failed",
                                "message": f"cannot open the access log: {error}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.access_log.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send):
        started = time.perf_counter()
        state = {"status": 0, "sent": 0}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message = dict(message, headers=list(message["headers"]) + self.security_headers)
            elif message["type"] == "http.response.body":
                state["sent"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._route(scope, receive, send_with_headers)
        except HttpError as error:
            if not state["status"]:
                await send_response(send_with_headers, error.status,
                                    (error.message + "\n").encode(), error.headers,
                                    head=scope["method"] == "HEAD")
        except ClientGone:
            state["status"] = state["status"] or 499  # nginx's code for "client closed"
        except Exception:
            log.exception("error while answering %s %s", printable(scope["method"]),
                          printable(scope.get("raw_path", b"")[:200]))
            if not state["status"]:
                await send_response(send_with_headers, 500, b"internal server error\n")
            else:
                raise  # headers are out: let uvicorn drop the connection
        finally:
            client = scope.get("client") or ("", 0)
            self.access_log.write(
                client=client[0], method=scope["method"],
                raw_path=scope.get("raw_path") or scope["path"].encode(),
                query=scope.get("query_string", b""), status=state["status"],
                sent=state["sent"], duration=time.perf_counter() - started,
            )

    async def _route(self, scope, receive, send):
        method = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        headers = request_headers(scope)

        if raw_path == b"/":
            _allow(method, FRAME_METHODS)
            if method != "POST" and wants_emulator(scope.get("query_string", b"")):
                return await self._emulator_frame(send, method)
            if method == "POST":
                # Bitrix24's form (tokens included) is read only to bound it, then dropped.
                await read_body(receive, headers, self.config.max_body, self.config.body_timeout)
            return await self._send_file(send, headers, method, self.config.frame_dir,
                                         ["index.html"], immutable=False)
        if raw_path == b"/emulator":
            query = scope.get("query_string", b"")
            location = b"/emulator/" + (b"?" + query if query else b"")
            return await send_response(send, 308, b"", [(b"location", location)])

        directory_index = raw_path.endswith(b"/")
        segments = url_segments(raw_path[1:-1] if directory_index else raw_path[1:])
        if not segments or not raw_path.startswith(b"/"):
            raise _not_found()
        first = segments[0]

        if first == "healthz" and len(segments) == 1 and not directory_index:
            _allow(method, FILE_METHODS)
            return await send_response(send, 200, b"ok\n", [(b"cache-control", b"no-store")],
                                       head=method == "HEAD")
        if first == "error-handler" and len(segments) == 1 and not directory_index:
            _allow(method, NOTICE_METHODS)
            return await self._error_notice(scope, receive, send, headers)

        _allow(method, FILE_METHODS)
        if directory_index:
            if segments != ["emulator"]:
                raise _not_found()  # no directory listings, and no other index pages
            return await self._send_file(send, headers, method, self.config.emulator_dir,
                                         ["index.html"], immutable=False)
        if segments == ["emulator", "bx24-stub.js"]:
            stub = stub_path(self.config.emulator_dir)
            if stub is None or not stub.is_file():
                raise _not_found()
            return await self._send_file(send, headers, method, stub.parent, [stub.name],
                                         immutable=False)
        if first == "emulator":
            return await self._send_file(send, headers, method, self.config.emulator_dir,
                                         segments[1:], immutable=False)
        if first == "pylib":
            if len(segments) < 3 or segments[1] != "bx24":
                raise _not_found()
            return await self._send_file(send, headers, method, self.config.bx24_dir,
                                         segments[2:], immutable=False)
        if first == "runtime":
            if len(segments) >= 3 and segments[1] == "npm":
                package_dir, rest = self._npm_package(segments[2:])
                return await self._send_file(send, headers, method, package_dir, rest,
                                             immutable=True)
            if len(segments) == 3 and segments[1] == "pypi":
                return await self._send_file(send, headers, method, self.config.wheels_dir,
                                             segments[2:], immutable=True)
            if len(segments) >= 3 and segments[1] == "snapshot":
                # The manifest is rebuilt in place by the set-up: revalidated. The image it names
                # carries its content hash in its name (runtime/build-snapshot.mjs), so it never
                # changes under its URL: immutable, and a warm load asks nothing. Its gzip copy
                # is kept on disk like the other runtime files'.
                return await self._send_file(send, headers, method, self.config.snapshot_dir,
                                             segments[2:], immutable=_is_hashed_image(segments),
                                             persist=True)
            raise _not_found()
        return await self._send_file(send, headers, method, self.config.frame_dir, segments,
                                     immutable=False)

    async def _emulator_frame(self, send, method):
        index = self.config.frame_dir / "index.html"
        if self.config.emulator_dir is None or not self.config.emulator_dir.is_dir():
            raise _not_found()
        try:
            page = emulator_frame(index)
        except FileNotFoundError:
            raise _not_found() from None
        except ValueError as error:
            raise HttpError(500, str(error)) from None
        await send_response(send, 200, page, [(b"cache-control", b"no-cache")],
                            content_type=b"text/html; charset=utf-8", head=method == "HEAD")

    def _npm_package(self, segments: list[str]) -> tuple[Path, list[str]]:
        """``[@scope/]name@version/rest...`` → the installed package folder and ``rest``,
        only when ``version`` is the one installed (else 404: a stale URL must not get a
        different file under an immutable cache policy)."""
        if segments[0].startswith("@"):
            if len(segments) < 3:
                raise _not_found()
            scope_name, name_version, rest = segments[0], segments[1], segments[2:]
        else:
            scope_name, name_version, rest = None, segments[0], segments[1:]
        name, at, version = name_version.rpartition("@")
        if not at or not name or not version or not rest:
            raise _not_found()
        package_dir = self.config.node_modules_dir.joinpath(
            *([scope_name] if scope_name else []), name
        )
        if self.npm.version(package_dir) != version:
            raise _not_found()
        return package_dir, rest

    async def _send_file(self, send, headers, method, root: Path | None, segments, *,
                         immutable: bool, persist: bool | None = None):
        path = resolve_file(root, segments) if root is not None else None
        if path is None:
            raise _not_found()
        await self.files.send(send, path, headers, method=method, immutable=immutable,
                              persist=immutable if persist is None else persist)

    async def _error_notice(self, scope, receive, send, headers):
        body = await read_body(receive, headers, self.config.max_body, self.config.body_timeout)
        fields = parse_notice(header(headers, b"content-type"), body,
                              scope.get("query_string", b""))
        client = (scope.get("client") or ("", 0))[0]
        self.error_log.append(fields, client)
        await send_response(send, 200, b"ok\n", [(b"cache-control", b"no-store")])


def create_app(config: Config) -> App:
    """The ASGI application for ``config`` (uvicorn, or any ASGI server, can run it)."""
    return App(config)
