"""Load a frame in a Playwright page the way Bitrix24 does, with the BX24 stub in place.

By default the frame loads where operators get it: in an iframe of a portal page on another
site (:mod:`.portal`), by the form POST Bitrix24 sends, so the server path a portal takes is the
one tested and the browser treats the frame as third-party (storage blocked or not, as the
browser context decides). ``https://api.bitrix24.com/api/v1/`` is answered with the stub, and
any other request that leaves the test server is aborted and recorded: a frame that needs a CDN
fails.
"""

import json
import time
from html import escape
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .portal import portal as stand_in
from .stub import BX24_URL, stub_script

READY_TIMEOUT_MS = 90_000

# What Bitrix24 POSTs to a PAGE_BACKGROUND_WORKER handler (the secrets are fake).
BITRIX_POST_FIELDS = {
    "DOMAIN": "example.bitrix24.com",
    "PROTOCOL": "1",
    "LANG": "en",
    "APP_SID": "0123456789abcdef",
    "AUTH_ID": "fake-auth-id",
    "AUTH_EXPIRES": "3600",
    "REFRESH_ID": "fake-refresh-id",
    "member_id": "fake-member-id",
    "status": "L",
    "PLACEMENT": "PAGE_BACKGROUND_WORKER",
    "PLACEMENT_OPTIONS": json.dumps({"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"}),
}


# What a frame sets when its boot ends: "ready" (bridge.js, once Python attached) or "error"
# (boot.js). `?.`: it is polled from the navigation's commit, before the new document has <html>.
READY_SIGNAL = "document.documentElement?.dataset.bx24"


def post_like_bitrix24(page, url, post_fields=None):
    """Navigate ``page`` itself (top level, same site) to ``url`` with the form POST Bitrix24
    sends a handler (its fields, plus ``post_fields``); return the navigation's response once it
    committed. :func:`open_frame` loads it cross-site instead, as a portal does."""
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in {**BITRIX_POST_FIELDS, **(post_fields or {})}.items()
    )
    page.set_content(f'<form method="post" action="{escape(url)}">{fields}</form>')
    with page.expect_navigation(wait_until="commit") as navigation:
        page.evaluate("document.forms[0].submit()")
    return navigation.value


class FrameNotReady(AssertionError):
    """The frame did not signal ``data-bx24="ready"``; the message carries its console."""


class LoadedFrame:
    """A frame loaded in ``page``: ``target`` is the Playwright frame holding its document
    (an iframe of the portal stand-in, or the page itself), its console lines, and the requests
    it tried to send outside."""

    def __init__(self, page, hold_bx24=False, origin=None, portal=None):
        self.page = page
        self.portal = portal  # the bx24_testing.bitrix24.Portal the frame belongs to
        self.target = page.main_frame
        self.console: list[str] = []
        self.outside_requests: list[str] = []
        self.failed_responses: list[str] = []  # "GET <url>: <status>" of the frame's own files
        self._holding_bx24 = hold_bx24
        self._held_bx24 = []  # (route, script) of BX24 library requests not answered yet
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        if origin:

            def check(response):
                if response.status >= 400 and response.url.startswith(origin + "/"):
                    self.failed_responses.append(
                        f"{response.request.method} {response.url}: HTTP {response.status}"
                    )

            page.on("response", check)

    def evaluate(self, expression, arg=None):
        """Run JavaScript in the frame's document (not the portal's)."""
        return self.target.evaluate(expression, arg)

    def console_text(self):
        """The frame's console so far, a line per message (for failure messages)."""
        return "\n".join(self.console) or "(nothing)"

    PYTHON_ERROR_MARKS = ("Traceback (most recent call last)", "PythonError")

    def python_errors(self):
        """The console lines that show a Python exception nobody handled (a handler or a hook
        that raised, main.py failing): the ``bx24_frame`` fixture fails a test that has any."""
        return [
            line for line in self.console if any(mark in line for mark in self.PYTHON_ERROR_MARKS)
        ]

    def release_bx24(self):
        """Answer the BX24 library request that ``open_frame(..., hold_bx24=True)`` holds back
        (or, if the page has not asked yet, answer it as soon as it does)."""
        self._holding_bx24 = False
        while self._held_bx24:
            route, script = self._held_bx24.pop(0)
            route.fulfill(body=script, content_type="text/javascript")

    def _answer_bx24(self, route, script):
        self._held_bx24.append((route, script))
        if not self._holding_bx24:
            self.release_bx24()

    def wait_ready(self, timeout_ms=READY_TIMEOUT_MS):
        """Wait until the frame's Python has its handlers attached; fail as soon as its boot
        failed (``data-bx24="error"``) or one of its own files could not be loaded."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            if self.target.url.startswith("chrome-error:"):
                raise FrameNotReady(
                    "the browser refused to show the frame (a Content-Security-Policy "
                    "frame-ancestors that does not allow the portal stand-in? add "
                    "bx24_testing.portal.ANCESTORS to --frame-ancestors)"
                    f"\nconsole:\n{self.console_text()[:20000]}"
                )
            if self.failed_responses:
                raise FrameNotReady(
                    "the frame cannot boot: "
                    + "; ".join(self.failed_responses[:5])
                    + f"\nconsole:\n{self.console_text()[:20000]}"
                )
            left_ms = (deadline - time.monotonic()) * 1000
            try:
                self.target.wait_for_function(
                    READY_SIGNAL, timeout=max(1, min(250, left_ms)), polling=50
                )
                break
            except PlaywrightTimeout:
                if left_ms > 250:
                    continue
                raise FrameNotReady(
                    f"the frame did not get ready within {timeout_ms} ms; console:\n"
                    f"{self.console_text()}"
                ) from None
        state = self.evaluate("document.documentElement.dataset.bx24")
        if state != "ready":  # (a relay's that booted later: wait_python says so)
            reason = self.evaluate("document.documentElement.dataset.bx24Error") or state
            raise FrameNotReady(
                f"the frame's boot failed: {reason}\nconsole:\n{self.console_text()[:20000]}"
            )
        return self

    def python(self):
        """What runs in the frame: ``"ready"`` (its Python, attached), ``"none"`` (a relay: an
        operator's frame that runs no Python and forwards its card's events to the leader's),
        ``"booting"`` (a relay the election made a Python frame), ``"error"``, or None (not
        decided yet). Only the oldest frames of an operator run Python (bx24.toml's
        ``python_frames``)."""
        return self.evaluate("document.documentElement.dataset.bx24Python ?? null")

    def wait_python(self, timeout_ms=READY_TIMEOUT_MS):
        """Wait until the frame's Python is attached (a relay that became the leader or the
        stand-in boots it then); fail at once, with the reason, if that boot failed."""
        self.target.wait_for_function(
            "['ready', 'error'].includes(document.documentElement.dataset.bx24Python)",
            timeout=timeout_ms,
            polling=50,
        )
        if self.python() == "error":
            reason = self.evaluate("document.documentElement.dataset.bx24Error")
            raise FrameNotReady(
                f"the frame's Python did not start: {reason}\nconsole:\n"
                f"{self.console_text()[:20000]}"
            )
        return self


def frame_url(server_url, interpreter=None):
    """The handler URL as registered with placement.bind, optionally choosing the interpreter."""
    if interpreter in (None, "pyodide"):
        return server_url
    return f"{server_url}?interpreter={interpreter}"


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# What a stub config may say about the portal rather than the library: set on the Portal.
PORTAL_KEYS = ("restResponses", "userOptions", "user")


def context_portal(context, url):
    """The portal the frames of ``context`` (one browser profile: one operator) load in when a
    test names none: a fresh one per context, so no test sees another's."""
    portals = _portals.setdefault(id(context), [context, None])
    if portals[1] is None:
        portals[1] = stand_in().new_portal(frame_url=url)
        context.on("close", lambda *_: _portals.pop(id(context), None))
    return portals[1]


_portals: dict = {}


def _prepare_portal(portal, stub_config, user):
    """Apply a stub config's portal-level keys to ``portal``; the rest is the library's."""
    config = dict(stub_config or {})
    for method, answer in (config.pop("restResponses", None) or {}).items():
        portal.respond(method, answer)
    for name, value in (config.pop("userOptions", None) or {}).items():
        portal.set_user_option(user, name, value)
    profile = config.pop("user", None)
    if profile:
        portal.users[int(user)].update(profile)
    if "isAdmin" in config:
        portal.users[int(user)]["ADMIN"] = bool(config["isAdmin"])
    return config


def open_frame(
    page,
    url,
    stub_config=None,
    post_fields=None,
    wait=True,
    hold_bx24=False,
    cross_site=True,
    sip_stand_in=True,
    portal=None,
    user=1,
    placement="PAGE_BACKGROUND_WORKER",
):
    """Load the frame at ``url`` in ``page`` as Bitrix24 does; return a :class:`LoadedFrame`.

    ``cross_site`` (the default): in an iframe of a page of ``portal`` (a
    :class:`bx24_testing.bitrix24.Portal` of the stand-in server; by default the one of
    ``page``'s browser context), on another site; False: ``page`` itself navigates to the frame
    (same site, top level). The frame belongs to ``portal`` either way: the stub asks it for
    the frame's token and options, and sends it the frame's REST. ``user`` is the operator
    (a user id of the portal), ``placement`` where the portal shows the frame. ``stub_config``
    is given to the stub before the frame's scripts run (``mode``, ``auth``, overrides of
    ``domain``, ``lang``, ``isAdmin``, ``placementOptions``; ``restResponses``,
    ``userOptions`` and ``user`` are set on the portal). With ``wait``, returns once the frame
    is ready. ``hold_bx24`` keeps the BX24 library unanswered until ``frame.release_bx24()``:
    on a portal it comes from Bitrix24's network and may arrive after the interpreter is ready
    (implies ``wait=False``). ``sip_stand_in`` (the default): the app's SIP softphone
    (``bx24.sip``) gets the stand-in phone, which registers at once and is played by
    ``BX24Stub.softphone``; False: JsSIP, for tests against a real SIP server
    (``bx24_testing.sip``).
    """
    origin = _origin(url)
    server = stand_in()
    portal = portal or context_portal(page.context, url)
    config = _prepare_portal(portal, stub_config, user)
    options = config.pop("placementOptions", None)
    if not cross_site:
        session = portal.open_session(
            user,
            placement,
            options if options is not None else {"ID": placement, "URI": "/crm/deal/"},
        )
        config.update(
            portal=portal.domain, protocol="https" if portal.https else "http", sid=session.sid
        )
    allowed = [origin + "/", "data:", portal.origin + "/"]
    frame = LoadedFrame(page, hold_bx24, origin, portal)
    stub = f"window.BX24_STUB_CONFIG = {json.dumps(config)};\n{stub_script(sip_stand_in)}"

    def route(route):
        request_url = route.request.url
        if request_url.startswith(BX24_URL):
            frame._answer_bx24(route, stub)
        elif request_url.startswith(tuple(allowed)):
            route.continue_()
        else:
            frame.outside_requests.append(request_url)
            route.abort()

    page.route("**/*", route)
    if not cross_site:
        response = post_like_bitrix24(page, url, post_fields)
    else:

        def the_frames_post(response):
            return response.request.method == "POST" and response.url.startswith(origin + "/")

        with page.expect_response(the_frames_post) as posted:
            page.goto(
                server.url_for(url, post_fields, portal, user, placement, options),
                wait_until="commit",
            )
        response = posted.value
        frame.target = response.frame
    if response is None or response.status != 200:
        raise FrameNotReady(
            f"POST {url} answered HTTP {response.status if response else '?'}"
            " instead of the frame's page"
        )
    if wait and not hold_bx24:
        frame.wait_ready()
    return frame


def wait_until(
    page, condition, timeout_s: float = 10.0, what: str = "a condition", interval_ms: int = 100
):
    """Poll ``condition()`` (an asynchronous browser value such as getStats, which Playwright's
    wait_for_function cannot await; or Kamailio's location table) until it is truthy; its last
    value, or AssertionError. Between polls ``page`` waits, so Playwright keeps serving the
    test's routes and events meanwhile (a ``time.sleep`` would hold every routed request);
    ``page=None`` where no page is left to serve."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s (last: {value!r})")
        if page is None:  # no browser to keep serving
            time.sleep(interval_ms / 1000)
        else:
            page.wait_for_timeout(interval_ms)


class PortalPage:
    """A page of a portal stand-in as one of its users sees it (:func:`open_portal_page`): the
    application's page (install or main) if asked for, and a worker frame per binding that
    applies to the user once the application is installed."""

    def __init__(self, page, portal, origin, user):
        self.page = page
        self.portal = portal
        self.origin = origin
        self.user = user
        self.outside_requests: list[str] = []  # what the page's frames asked outside

    def frame(self, kind="worker", timeout_s=30.0, ready=True):
        """The frame of ``kind`` (``worker``, ``install``, ``main``) from the application's
        server, once the portal loaded it (and, with ``ready``, once its Python runs): a
        :class:`LoadedFrame`."""
        from bx24_frame.layout import PAGES

        path = "/" + PAGES[kind][0]

        def found():
            for candidate in self.page.frames:
                url = candidate.url
                if url.startswith(self.origin + "/") and urlsplit(url).path == path:
                    return candidate
            return None

        target = wait_until(self.page, found, timeout_s, f"the portal's {kind} frame")
        frame = LoadedFrame(self.page, origin=self.origin, portal=self.portal)
        frame.target = target
        if ready:
            frame.wait_ready(int(timeout_s * 1000))
        return frame

    def app_state(self, kind, timeout_s=30.0):
        """What the application's page of ``kind`` came to (``data-bx24-page``: the install
        page's ``finished``, ``checked``, ``refused``, ``failed``; the main page's ``shown``,
        ``bound``, ``rebound``, ``failed``), once it got there."""
        frame = self.frame(kind, timeout_s)
        frame.target.wait_for_function(
            "document.documentElement.dataset.bx24Page", timeout=timeout_s * 1000
        )
        return frame.evaluate("document.documentElement.dataset.bx24Page")

    def text(self, kind):
        """The visible text of the application's page of ``kind``."""
        return self.frame(kind).evaluate("document.getElementById('bx24-app').innerText")

    def reload(self):
        """The user opens the page again (the portal loads its frames anew)."""
        self.page.reload(wait_until="commit")


def open_portal_page(
    page,
    server_url,
    portal,
    user=1,
    app=True,
    interpreter=None,
    stub_config=None,
    sip_stand_in=True,
):
    """Open a page of ``portal`` (a stand-in) as ``user`` sees it, with the application served
    at ``server_url`` as its install page (``install``) and main page (``main``): with ``app``
    the portal shows the install page while the application is not installed (to an
    administrator), the main page after; once installed, the worker bound with
    ``placement.bind`` loads in it too. Every frame gets the BX24 stub; a request outside the
    application's server and the portal is aborted. Returns a :class:`PortalPage`."""
    origin = _origin(server_url)
    base = server_url.rstrip("/") + "/"
    query = f"?interpreter={interpreter}" if interpreter not in (None, "pyodide") else ""
    portal.app_urls.update(install=base + "install" + query, main=base + "main" + query)
    config = _prepare_portal(portal, stub_config, user)
    config.pop("placementOptions", None)
    allowed = [origin + "/", "data:", portal.origin + "/"]
    holder = LoadedFrame(page, origin=origin, portal=portal)
    stub = f"window.BX24_STUB_CONFIG = {json.dumps(config)};\n{stub_script(sip_stand_in)}"

    def route(route):
        request_url = route.request.url
        if request_url.startswith(BX24_URL):
            holder._answer_bx24(route, stub)
        elif request_url.startswith(tuple(allowed)):
            route.continue_()
        else:
            holder.outside_requests.append(request_url)
            route.abort()

    page.route("**/*", route)
    page.goto(stand_in().page_url(portal, user, app=app), wait_until="commit")
    view = PortalPage(page, portal, origin, user)
    view.outside_requests = holder.outside_requests  # the same list: filled as they happen
    return view
