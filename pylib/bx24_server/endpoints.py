"""The server's endpoints by name, written once: the server routes them, the page names the one
it reports to, the app pages name theirs, and the exported nginx config passes them to the
Python server."""

HEALTHZ = "healthz"  # GET: "ok"
ERROR_HANDLER = "error-handler"  # POST: Bitrix24's notice that it unbound a slow worker (also
#                                  error-handler/<member id>/<signature>: a portal's own)
FRAME_REPORT = "frame-report"  # POST: a frame's report about itself
EVENTS = "bx24-events"  # POST: Bitrix24's events (ONAPPINSTALL, ONAPPUNINSTALL...)
INSTALL = "bx24-install"  # POST: the install page hands the server the admin's tokens
PORTAL = "bx24-portal"  # POST: the main page asks what the server saw of its portal

# What the exported nginx config passes to `bx24 serve` (the rest it serves itself); the first
# with whatever follows it in the path.
PROXIED = (ERROR_HANDLER, FRAME_REPORT, EVENTS, INSTALL, PORTAL)
PROXIED_WITH_PATHS = (ERROR_HANDLER,)
