"""The softphone on a network shaped like production (issue 23), as far as this file goes: SIP
over WSS (Kamailio's TLS, the kit's loopback certificate that its Chromium trusts), the ICE
settings and the codec preference of the app reaching the call's RTCPeerConnection, a second
WebSocket URL to fail over to when the first cannot be reached, media through TURN only
(coturn, short-lived credentials the app fetches when its phone starts), and a microphone that
is blocked or unplugged. Both interpreters; the customer is a JsSIP page over WSS too."""

import socket

import pytest

from bx24_testing.frame import frame_url, wait_until
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.sip import SipPhone, SipServer, open_operator, operator_phone
from bx24_testing.turn import TurnServer

OPERATOR, CUSTOMER = "101", "200"
STUN = "stun:127.0.0.1:3478"


@pytest.fixture(scope="module")
def wss():
    with SipServer(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def wss_frame_server(make_sample, wss):
    """The sample app: its SIP_SERVER a dead URL first, then the WSS Kamailio (failover);
    a STUN server, ICE policy "all", PCMU preferred."""
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        dead = f"wss://127.0.0.1:{unused.getsockname()[1]}/nothing-here"
    return make_sample(
        {
            'SIP_SERVER = "wss://pbx.example.com/ws"': f'SIP_SERVER = ["{dead}", "{wss.url}"]',
            'DTMF = "rfc4733"': 'DTMF = "info"',
            "ICE_SERVERS = []": f'ICE_SERVERS = [{{"urls": "{STUN}"}}]',
            "CODECS = []": 'CODECS = ["PCMU"]',
        }
    )


def configuration(operator):
    """What the operator's call's RTCPeerConnection was given, and its local SDP (sip.mjs)."""
    return operator_phone(operator, "configuration")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_over_wss_with_the_apps_ice_settings_and_codecs(
    page, browser, wss_frame_server, wss, interpreter
):
    assert wss.url.startswith("wss://")
    operator = open_operator(page, frame_url(wss_frame_server.url, interpreter), wss)
    context = browser.new_context()
    customer = SipPhone.open(context.new_page(), operator.frame, wss, CUSTOMER)
    customer.wait_registered()
    call = customer.call(OPERATOR, wss)
    operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=CUSTOMER)
    operator.click("answer")
    customer.wait_event("answered", id=call)
    seen = configuration(operator)
    assert seen["iceTransportPolicy"] == "all"
    assert seen["iceServers"] == [{"urls": [STUN]}] or seen["iceServers"] == [{"urls": STUN}]
    audio = next(line for line in seen["localSdp"].split("\r\n") if line.startswith("m=audio"))
    pcmu = next(
        line.split(":")[1].split()[0]
        for line in seen["localSdp"].split("\r\n")
        if line.startswith("a=rtpmap:") and " PCMU/" in line
    )
    assert audio.split()[3] == pcmu  # the answer puts the app's codec first
    stats = customer.stats(call)
    wait_until(
        page,
        lambda: customer.stats(call)["inboundBytes"] > stats["inboundBytes"] + 500,
        what="the operator's audio reaching the customer over WSS signalling",
    )
    operator.click("hangup")
    customer.wait_event("ended", id=call)
    assert operator.frame.python_errors() == []
    assert not any(wss.password in line for line in operator.frame.console)
    context.close()
    page.close()  # its WebSocket closes: Kamailio forgets the contact
    wait_until(None, lambda: not wss.contacts(OPERATOR), what="the operator's contact gone")


MICROPHONE = """(mode) => {
  if (!navigator.mediaDevices) return;
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (mode === "denied") throw new DOMException("Permission denied", "NotAllowedError");
    const stream = await real(constraints);
    window.__micTrack = stream.getAudioTracks()[0];  // unplugged later: its "ended"
    return stream;
  };
}"""


@pytest.mark.parametrize("interpreter", INTERPRETERS)
@pytest.mark.parametrize("mode", ["denied", "lost"])
def test_a_microphone_that_fails_is_said_and_the_call_finished_once(
    page, browser, wss_frame_server, wss, interpreter, mode
):
    page.add_init_script(f"({MICROPHONE})({mode!r})")
    operator = open_operator(page, frame_url(wss_frame_server.url, interpreter), wss)
    context = browser.new_context()
    customer = SipPhone.open(context.new_page(), operator.frame, wss, CUSTOMER)
    customer.wait_registered()
    call = customer.call(OPERATOR, wss)
    operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=CUSTOMER)
    with page.expect_response(lambda r: r.url.endswith("/frame-report")) as report:
        operator.click("answer")
        if mode == "lost":
            customer.wait_event("answered", id=call)
            operator.frame.evaluate("window.__micTrack.dispatchEvent(new Event('ended'))")
    finish = operator.wait_for_rest("telephony.externalcall.finish")
    said = "blocked the microphone" if mode == "denied" else "unplugged"
    assert said in finish["params"]["FAILED_REASON"]
    assert finish["params"]["STATUS_CODE"] == ("480" if mode == "denied" else "200")
    customer.wait_event("failed" if mode == "denied" else "ended", id=call)
    assert "microphone" in report.value.request.post_data
    operator.wait_for_command("CallCardClose")
    assert len(operator.rest_calls("telephony.externalcall.finish")) == 1
    context.close()
    page.close()
    wait_until(None, lambda: not wss.contacts(OPERATOR), what="the operator's contact gone")


@pytest.fixture(scope="module")
def turn():
    with TurnServer() as server:
        yield server


@pytest.fixture(scope="module")
def turn_frame_server(make_sample, wss):
    """The sample app over WSS, media through TURN only (ICE_TRANSPORT_POLICY = "relay"), its
    ICE servers an async function (credentials fetched at run time, never served)."""
    return make_sample(
        {
            'ICE_TRANSPORT_POLICY = "all"': 'ICE_TRANSPORT_POLICY = "relay"',
        },
        sip_server=wss,
        turn_from_user_option=True,
    )


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_media_through_turn_only(page, browser, turn_frame_server, wss, turn, interpreter):
    import json

    servers = turn.ice_servers("operator-101")
    operator = open_operator(
        page,
        frame_url(turn_frame_server.url, interpreter),
        wss,
        user_options={"turn": json.dumps(servers)},
    )
    before = turn.allocations()
    context = browser.new_context()
    customer = SipPhone.open(context.new_page(), operator.frame, wss, CUSTOMER)
    customer.wait_registered()
    call = customer.call(OPERATOR, wss)
    operator.wait_for_rest("telephony.externalcall.register", PHONE_NUMBER=CUSTOMER)
    operator.click("answer")
    customer.wait_event("answered", id=call)
    assert configuration(operator)["iceTransportPolicy"] == "relay"
    stats = customer.stats(call)
    wait_until(
        page,
        lambda: customer.stats(call)["inboundBytes"] > stats["inboundBytes"] + 500,
        what="the operator's audio reaching the customer through the TURN relay",
    )
    assert turn.allocations() > before  # the operator's media went through coturn
    seen = configuration(operator)
    sdp = seen["localSdp"]
    assert " typ relay " in sdp and " typ host " not in sdp  # relay candidates only
    operator.click("hangup")
    customer.wait_event("ended", id=call)
    assert not any(servers[0]["credential"] in line for line in operator.frame.console)
    context.close()
    page.close()
    wait_until(None, lambda: not wss.contacts(OPERATOR), what="the operator's contact gone")
