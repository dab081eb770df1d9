"""A stand-in for a Bitrix24 portal page: the frame under test loads inside it, cross-site.

On a portal the worker frame is an iframe of another site (the portal's domain embeds your
host), so the browser treats it as third-party: its storage may be blocked, its timers and
rendering throttled. Tests see that only if the frame is loaded the same way, so the kit loads
it from this page by default: a small HTTP server on loopback whose page inserts a hidden
iframe (named like Bitrix24 names it, with the same ``allow``) and POSTs Bitrix24's form into
it. It answers on ``localhost`` when the frame is on ``127.0.0.1`` and the other way round: two
sites to the browser, both on the loopback address (a browser refuses a public page that
embeds a loopback one, so the parent cannot be a made-up public name).

The frame's ``Content-Security-Policy: frame-ancestors`` must let it in: the plugin's server
adds :data:`ANCESTORS`; add it to ``--frame-ancestors`` of a ``bx24 serve`` you test against.
"""

from __future__ import annotations

import json
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

# CSP sources that let the stand-in embed a frame served on loopback, whatever its port.
ANCESTORS = "http://localhost:* http://127.0.0.1:*"
FRAME_NAME_SEPARATOR = "|"

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bitrix24 portal (stand-in)</title></head>
<body>
<p>A portal page (the bx24 kit's stand-in): the worker frame below is loaded as Bitrix24 loads
it, with a POST, from another site.</p>
<iframe name="{name}" allow="geolocation *; microphone *; camera *; autoplay *;"
        style="position:absolute; width:0; height:0; border:0"></iframe>
<form method="post" action="{action}" target="{name}">{fields}</form>
<script>document.forms[0].submit();</script>
</body>
</html>
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = parse_qs(urlsplit(self.path).query)
        frame = query.get("frame", [""])[0]
        if not frame.startswith(("http://", "https://")):
            self.send_error(404, "no frame")
            return
        fields = json.loads(query.get("fields", ["{}"])[0])
        inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">'
                         for k, v in fields.items())
        name = query.get("name", ["bx24-worker"])[0]
        body = PAGE.format(name=escape(name), action=escape(frame), fields=inputs).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Portal:
    """The stand-in's server (one per process, started on first use: :func:`portal`)."""

    def __init__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="bx24-portal",
                         daemon=True).start()

    def origin_for(self, frame_url: str) -> str:
        """The portal's origin for a frame at ``frame_url``: the other loopback name."""
        host = "127.0.0.1" if urlsplit(frame_url).hostname == "localhost" else "localhost"
        return f"http://{host}:{self.port}"

    def url_for(self, frame_url: str, fields: dict) -> str:
        """The portal page that loads ``frame_url`` with a POST of ``fields``. The frame's
        ``window.name`` is Bitrix24's: ``<portal host>|<1 for https>|<APP_SID>``."""
        origin = self.origin_for(frame_url)
        name = FRAME_NAME_SEPARATOR.join(
            [urlsplit(origin).netloc, "0", str(fields.get("APP_SID", ""))])
        query = urlencode({"frame": frame_url, "fields": json.dumps(fields), "name": name})
        return f"{origin}/crm/deal/?{query}"


_portal = None
_lock = threading.Lock()


def portal() -> Portal:
    global _portal
    with _lock:
        if _portal is None:
            _portal = Portal()
        return _portal
