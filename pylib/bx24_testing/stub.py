"""Where the BX24 stub lives, for code that serves it in place of Bitrix24's JS library.

Tests route ``https://api.bitrix24.com/api/v1/`` to this script so the frame under test stays
the production frame; the script's control API is ``window.BX24Stub``. The emulator serves it
beside its own files (``emulator/bx24-stub.js``), with the SIP stand-in (``sip-stub.js``).
"""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
EMULATOR_DIR = STATIC_DIR / "emulator"
STUB_PATH = EMULATOR_DIR / "bx24-stub.js"
SIP_STUB_PATH = EMULATOR_DIR / "sip-stub.js"  # the SIP phone without a SIP server
BX24_URL = "https://api.bitrix24.com/api/v1/"
BX24_URL_PATTERN = BX24_URL + "**"


def model_script():
    """``window.BX24_MODEL``: the card's description (:mod:`bx24_testing.cardmodel`), which the
    stub reads every fact of the card from."""
    import json

    from .cardmodel import describe

    return f"window.BX24_MODEL = {json.dumps(describe())};\n"


def stub_script(sip_stand_in=True):
    """The stub's JavaScript source (the card's description first); with ``sip_stand_in``, the
    SIP stand-in after it (bx24.sip's phone without a SIP server: the frame's softphone
    registers at once and is played by ``BX24Stub.softphone``)."""
    script = model_script() + STUB_PATH.read_text(encoding="utf-8")
    if sip_stand_in:
        script += "\n" + SIP_STUB_PATH.read_text(encoding="utf-8")
    return script
