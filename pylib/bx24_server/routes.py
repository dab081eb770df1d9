"""Routes: the server's fixed endpoints, as a table, beside its mounts (:mod:`.mounts`).

A :class:`Route` is a path (one or more segments, exactly; or everything under them with
``prefix``), the methods it takes, and an ``answer(request)`` coroutine. The server's own
endpoints are in :mod:`.app`; a site adds its own (``site.routes``: the emulator's portal).
"""

from __future__ import annotations

from typing import Awaitable, Callable


class Request:
    """What a route's answer gets: the ASGI ``scope``, ``receive`` and ``send``, the request
    ``headers`` (lowercase bytes names), and the path ``segments`` after the route's own."""

    __slots__ = ("scope", "receive", "send", "headers", "rest")

    def __init__(self, scope, receive, send, headers, rest):
        self.scope = scope
        self.receive = receive
        self.send = send
        self.headers = headers
        self.rest = rest

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def client(self) -> str:
        return (self.scope.get("client") or ("", 0))[0]


class Route:
    def __init__(
        self,
        path: str,
        methods: tuple[str, ...],
        answer: Callable[[Request], Awaitable[None]],
        *,
        prefix: bool = False,
    ):
        self.path = path
        self.segments = path.strip("/").split("/")
        self.methods = methods
        self.answer = answer
        self.prefix = prefix

    def match(self, segments: list[str], directory_index: bool) -> list[str] | None:
        """The segments after this route's own when it answers ``segments``, else None."""
        head = len(self.segments)
        if segments[:head] != self.segments:
            return None
        if self.prefix:
            return segments[head:]
        return [] if len(segments) == head and not directory_index else None

    def __repr__(self) -> str:
        return f"Route({self.path!r}{', prefix' if self.prefix else ''})"


def find(routes: list[Route], segments: list[str], directory_index: bool):
    for route in routes:
        rest = route.match(segments, directory_index)
        if rest is not None:
            return route, rest
    return None
