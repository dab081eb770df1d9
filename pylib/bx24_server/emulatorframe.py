"""The frame as the emulator loads it: production ``index.html`` with BX24 swapped for the stub.

The emulator has no portal and no network, so the frame it embeds must get the BX24 stub instead
of ``https://api.bitrix24.com/api/v1/``. It is served at ``/?emulator`` (the same document URL as
production, so every relative URL PyScript resolves, interpreter and files included, is the
production one) and differs from the production page in that one script URL only.
"""

from __future__ import annotations

from pathlib import Path

BX24_SRC = b'src="https://api.bitrix24.com/api/v1/"'
STUB_SRC = b'src="/emulator/bx24-stub.js"'


def wants_emulator(query_string: bytes) -> bool:
    """``?emulator`` (with or without a value) anywhere in the query."""
    return any(part.split(b"=", 1)[0] == b"emulator" for part in query_string.split(b"&"))


def emulator_frame(index_html: Path) -> bytes:
    """``index_html`` with Bitrix24's library replaced by the stub; a frame that does not load
    BX24 from the production URL cannot be emulated, and says so."""
    page = index_html.read_bytes()
    if BX24_SRC not in page:
        raise ValueError(
            f"{index_html.name} does not load BX24 with {BX24_SRC.decode()}: the emulator cannot "
            "put its stub in place")
    return page.replace(BX24_SRC, STUB_SRC, 1)


def stub_path(emulator_dir: Path | None) -> Path | None:
    """The BX24 stub shipped beside the emulator (``bx24_testing/static/bx24-stub.js``)."""
    return emulator_dir.parent / "bx24-stub.js" if emulator_dir is not None else None
