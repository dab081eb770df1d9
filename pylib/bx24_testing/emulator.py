"""The call-card emulator as mounts for the frame's server (``bx24 serve --emulator``).

``/emulator/`` is the emulator page; it embeds the frame from ``/?emulator``: the frame's own
page with Bitrix24's library URL replaced by the stub and the SIP stand-in (:data:`VARIANTS`), so every relative URL
of the frame resolves as in production. It loads it from the other loopback name (127.0.0.1 and
localhost), cross-site as on a portal, so the frame must let those embed it
(:data:`ANCESTORS`). Off unless asked for: a production server has no emulator.
"""

from bx24_server.mounts import REVALIDATE, Folder

from .portal import ANCESTORS  # noqa: F401  (re-exported: what the frame must allow)
from .stub import EMULATOR_DIR, SIP_STUB_PATH, STUB_PATH

PREFIX = "emulator/"
# ?emulator: the BX24 stub in place of Bitrix24's library, and the SIP stand-in (the app's SIP
# softphone registers at once, and the emulator's Softphone panel plays the other side)
VARIANTS = {"emulator": (PREFIX + STUB_PATH.name, PREFIX + SIP_STUB_PATH.name)}


def mounts():
    return [Folder(PREFIX, EMULATOR_DIR, REVALIDATE, index="index.html")]
