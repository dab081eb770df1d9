"""The server's endpoints by name, written once: the server routes them, the page names the one
it reports to, and the exported nginx config passes them to the Python server."""

HEALTHZ = "healthz"            # GET: "ok"
ERROR_HANDLER = "error-handler"  # POST: Bitrix24's notice that it unbound a slow worker
FRAME_REPORT = "frame-report"  # POST: a frame's report about itself

# What the exported nginx config passes to `bx24 serve` (the rest it serves itself).
PROXIED = (ERROR_HANDLER, FRAME_REPORT)
