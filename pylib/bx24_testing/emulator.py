"""The call-card emulator as mounts and routes for the frame's server (``bx24 serve --emulator``).

``/emulator/`` is the emulator page; it embeds the frame from ``/?emulator``: the frame's own
page with Bitrix24's library URL replaced by the stub and the SIP stand-in (:data:`VARIANTS`),
so every relative URL of the frame resolves as in production. It loads it from the other
loopback name (127.0.0.1 and localhost), cross-site as on a portal, so the frame must let those
embed it (:data:`ANCESTORS`). The emulator page is the frame's portal: the server answers the
portal's side (REST, the frame's init data, OAuth) from a :class:`~bx24_testing.bitrix24.Portal`
(:func:`routes`). Off unless asked for: a production server has no emulator.
"""

from bx24_server.asgi import read_body, send_response
from bx24_server.mounts import REVALIDATE, Folder
from bx24_server.routes import Route

from .bitrix24 import OAUTH_PREFIX, Portal
from .portal import ANCESTORS  # noqa: F401  (re-exported: what the frame must allow)
from .portal import PortalHttp
from .stub import EMULATOR_DIR, SIP_STUB_PATH, STUB_PATH, model_script

PREFIX = "emulator/"
MODEL_SCRIPT = "bx24-model.js"  # the card's description, which the stub reads (generated)
# ?emulator: the BX24 stub in place of Bitrix24's library, and the SIP stand-in (the app's SIP
# softphone registers at once, and the emulator's Softphone panel plays the other side)
VARIANTS = {
    "emulator": (PREFIX + MODEL_SCRIPT, PREFIX + STUB_PATH.name, PREFIX + SIP_STUB_PATH.name)
}


MAX_BODY = 1 << 20
# An ASGI app cannot drop a connection without an answer: this header says "no answer" to the
# stub, which fails the frame's request as a network failure would.
NETWORK_FAILURE = "X-Bx24-Network-Failure"
PORTAL_METHODS = ("GET", "POST", "OPTIONS")


def mounts():
    return [Folder(PREFIX, EMULATOR_DIR, REVALIDATE, index="index.html")]


def routes(portal: Portal | None = None) -> list[Route]:
    """The portal's side for the emulator page: ``/rest/``, ``/_bx24portal/``, the OAuth server,
    answered from ``portal`` (a fresh one by default), which answers on whatever host the
    emulator page is opened at (it creates the frame's session there)."""
    portal = portal or Portal("emulator", https=False)
    http = PortalHttp()

    async def answer(request):
        scope = request.scope
        host = (request.headers.get(b"host") or b"").decode("latin-1")
        if scope["path"] == "/_bx24portal/session":
            portal.domain = host  # the emulator page's own host: the frame's portal
        body = b""
        if request.method == "POST":
            body = await read_body(request.receive, request.headers, MAX_BODY, 30.0)
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        status, headers, data = http.answer(
            portal,
            request.method,
            target,
            body,
            (request.headers.get(b"content-type") or b"").decode("latin-1"),
        )
        if status == 0:  # a programmed network failure: the stub makes the frame's fetch fail
            status, headers, data = 502, [(NETWORK_FAILURE, "1")], b""
        await request.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in headers]
                + [(b"content-length", str(len(data)).encode())],
            }
        )
        await request.send({"type": "http.response.body", "body": data})

    model = model_script().encode()

    async def model_js(request):
        await send_response(
            request.send,
            200,
            model,
            [(b"cache-control", b"no-cache")],
            content_type=b"text/javascript; charset=utf-8",
            head=request.method == "HEAD",
        )

    return [Route(PREFIX + MODEL_SCRIPT, ("GET", "HEAD"), model_js)] + [
        Route(name, PORTAL_METHODS, answer, prefix=True)
        for name in ("rest", "_bx24portal", OAUTH_PREFIX.strip("/"))
    ]
