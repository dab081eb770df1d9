"""The call-card emulator as mounts for the frame's server (``bx24 serve --emulator``).

``/emulator/`` is the emulator page; it embeds the frame from ``/?emulator``: the frame's own
page with Bitrix24's library URL replaced by the stub (:data:`VARIANTS`), so every relative URL
of the frame resolves as in production. It loads it from the other loopback name (127.0.0.1 and
localhost), cross-site as on a portal, so the frame must let those embed it
(:data:`ANCESTORS`). Off unless asked for: a production server has no emulator.
"""

from bx24_server.mounts import REVALIDATE, Folder

from .portal import ANCESTORS  # noqa: F401  (re-exported: what the frame must allow)
from .stub import EMULATOR_DIR, STUB_PATH

PREFIX = "emulator/"
VARIANTS = {"emulator": PREFIX + STUB_PATH.name}


def mounts():
    return [Folder(PREFIX, EMULATOR_DIR, REVALIDATE, index="index.html")]
