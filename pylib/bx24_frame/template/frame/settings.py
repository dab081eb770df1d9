"""The softphone's settings. This file is served to every operator's browser: no passwords here.

Each operator's SIP user is their inner phone number in Bitrix24 (``UF_PHONE_INNER`` in their
profile); their SIP password is the application's user option ``sip_password``
(``user.option.set``, e.g. from your app's settings page), read when their phone starts.
"""

# Your SIP server's WebSocket (Kamailio, Asterisk, FreeSWITCH...): wss:// on a real network.
SIP_SERVER = "wss://pbx.example.com/ws"
# The domain of the operators' SIP addresses (sip:<inner number>@SIP_DOMAIN); None: the server's
SIP_DOMAIN = None
# The line Bitrix24 shows and reports the calls on.
LINE_NUMBER = "line1"
# DTMF: "rfc4733" (in the audio, the default) or "info" (SIP INFO, for servers that want it).
DTMF = "rfc4733"
