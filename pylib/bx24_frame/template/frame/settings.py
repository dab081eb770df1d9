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
# Behind NAT: STUN/TURN servers for the browser's media, as RTCPeerConnection takes them, e.g.
# [{"urls": "stun:stun.example.com:3478"}]. No TURN password here (this file is served): give
# bx24.page.sip_softphone an async function that fetches short-lived ones (docs/api.md).
ICE_SERVERS = []
# "all" (any path) or "relay" (media through TURN only: strict networks).
ICE_TRANSPORT_POLICY = "all"
# Codecs preferred first, by name, e.g. ["opus", "PCMU"]; []: the browser's order.
CODECS = []
