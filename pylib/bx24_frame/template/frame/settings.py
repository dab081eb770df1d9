"""The softphone's settings. This file is served to every operator's browser: no passwords here.

Each operator's SIP user is their inner phone number in Bitrix24 (``UF_PHONE_INNER`` in their
profile); their SIP password is what they save on the application's main page (their own
user option, ``bx24.SIP_PASSWORD_OPTION``), read when their phone starts.
"""

# Your SIP server's WebSocket (Kamailio, Asterisk, FreeSWITCH...): wss:// on a real network.
SIP_SERVER = "wss://pbx.example.com/ws"
# The domain of the operators' SIP addresses (sip:<inner number>@SIP_DOMAIN); None: the server's
SIP_DOMAIN = None
# The line Bitrix24 shows and reports the calls on: one the install page creates
# ([[application.lines]] in bx24.toml; tests/test_logic.py checks that they agree).
LINE_NUMBER = "line1"
# DTMF: "rfc4733" (in the audio, the default) or "info" (SIP INFO, for servers that want it).
DTMF = "rfc4733"
