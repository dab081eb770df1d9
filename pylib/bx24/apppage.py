"""The application's own pages (the install page, the main page): what they ask the page's
bridge, and where they show it.

Bitrix24 opens them in a visible frame, POSTed like every application page, with ``BX24`` in
it; they have no call card. An :class:`AppPage` holds what both need: the page's bridge
(``bridge.js``), its REST (:class:`bx24.rest.Rest`), the ``[app]`` settings of ``bx24.toml``
(from the page's boot config), and a view (:mod:`bx24.view` in the browser; a recording one in
tests) made of sections of lines, buttons and a password field.

Pure logic: the browser's objects come in (:func:`bx24.browser.app_page`).
"""

import json

from .envelope import NO_ANSWER, open_envelope
from .tasks import spawn

WAIT_MS = 15000


class AppPage:
    """``bridge`` (bridge.js's application-page functions), ``rest``, ``view``; ``log`` for what
    cannot be shown. :meth:`start` runs a page's coroutine and marks the page ready."""

    def __init__(self, bridge, rest, view, log=None):
        self.bridge = bridge
        self.rest = rest
        self.view = view
        self.log = log
        boot = json.loads(bridge.config())
        self.kind = boot.get("page")
        self.settings = boot.get("app") or {}
        self.endpoints = boot.get("server") or {}
        self.info = None

    async def _ask(self, what, promise):
        data = open_envelope(what, await promise)
        if data is NO_ANSWER:
            raise TimeoutError("BX24 did not answer {} within {} s".format(what, WAIT_MS / 1000))
        return data

    async def load_info(self):
        """Who and where (``admin``, ``lang``, ``domain``, ``member``, ``placement``, ``page``):
        asked once, after ``BX24.init``."""
        if self.info is None:
            self.info = await self._ask("appInfo", self.bridge.appInfo(WAIT_MS))
        return self.info

    @property
    def base(self):
        """The folder of this page's URL: where the worker and the server's endpoints are."""
        page = (self.info or {}).get("page") or ""
        return page[:page.rfind("/") + 1]

    def worker_url(self):
        """The worker's URL: ``[app] worker_url``, else the page's folder (``/`` of the same
        server) with the page's own choices kept (``interpreter``, a variant such as
        ``emulator``), never Bitrix24's parameters."""
        given = self.settings.get("worker_url")
        if given:
            return given
        page = (self.info or {}).get("query") or ""
        keep = set(self.endpoints.get("carry") or ())
        pairs = [p for p in page.split("&") if p and p.split("=", 1)[0] in keep]
        return self.base + ("?" + "&".join(pairs) if pairs else "")

    async def server(self, name, payload=None):
        """POST to the app's server endpoint ``name`` (``install``, ``portal``) with this user's
        tokens: its JSON answer, or None when no application server answers there (a static
        export, a server without the application's credentials). A refusal raises
        :class:`ServerRefused` with the server's reason."""
        path = self.endpoints.get(name)
        if not path:
            return None
        data = await self._ask("the server's " + name, self.bridge.server(
            path, json.dumps(payload or {}), WAIT_MS))
        status = data.get("http")
        if "network" in data or status in (404, 405, 501, 502, 503, 504) or status is None:
            return None
        answer = data.get("json")
        if status != 200 or not isinstance(answer, dict):
            reason = answer.get("error") if isinstance(answer, dict) else data.get("text")
            raise ServerRefused("the application's server refused ({}): {}".format(
                status, reason or "no reason given"))
        return answer

    async def install_finish(self):
        await self._ask("installFinish", self.bridge.installFinish(WAIT_MS))

    async def microphone(self):
        return await self._ask("the microphone", self.bridge.microphone(60000))

    def ready(self, state):
        """The page is done with what it does by itself: ``<html data-bx24="ready"
        data-bx24-page=state>`` (tests wait for it)."""
        self.bridge.pageReady(state)

    def start(self, coroutine, what):
        """Run the page's ``coroutine`` (Python is running: ``<html data-bx24="ready">``); a
        failure is shown on the page, logged, and the page marked ``failed``."""
        self.view.clear()
        self.bridge.pageReady(None)

        async def guarded():
            try:
                await coroutine
            except Exception as exc:
                self.view.section("Something went wrong").line(
                    "{}: {}".format(type(exc).__name__, exc), "error")
                self.ready("failed")
                raise
        return spawn(guarded(), self.log, what)


class ServerRefused(Exception):
    """The application's server answered, and refused (its reason in the message)."""
