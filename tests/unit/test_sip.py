"""bx24.sip in CPython: the SIP softphone's logic over the kit's fake phone (FakeSipPhone, what
sip-stub.js is in the page): what the phone reports becomes the call session's, SIP causes
become Bitrix24's status codes, the phone starts and stops with the frame's leadership, and the
password reaches the phone and nothing else."""

import json

import pytest

from bx24 import SipSoftphone, Status
from bx24.sip import status_for
from bx24_testing.fake import FakePortal, FakeSipPhone
from fake_bridge import run

SERVER = "wss://pbx.example.com/ws"


def setup(**options):
    portal = FakePortal(user_id=7)
    phone = FakeSipPhone()
    logged = []
    softphone = SipSoftphone(
        SERVER,
        options.pop("uri", "sip:101@pbx.example.com"),
        password="s3cret",
        new_phone=phone.create,
        log=logged.append,
        **options,
    )
    calls = portal.calls(softphone, line_number="line1", log=logged.append)
    return portal, phone, softphone, calls, logged


async def ringing(**options):
    """:func:`setup`, the phone registered, and a call from +15550001122 ringing on the card."""
    portal, phone, softphone, calls, logged = setup(**options)
    await portal.settle()
    phone.ring("+15550001122")
    await portal.settle()
    return portal, phone, softphone, calls, logged


def finishes(portal):
    return [c["params"] for c in portal.rest_calls("telephony.externalcall.finish")]


@pytest.mark.parametrize(
    "cause, code, status",
    [
        ("Busy", 486, Status.BUSY),
        ("Rejected", 603, Status.DECLINED),
        ("Not Found", 404, Status.WRONG_NUMBER),
        ("Unavailable", 480, Status.UNAVAILABLE),
        ("Authentication Error", 401, Status.FORBIDDEN),
        ("No Answer", None, Status.MISSED),
        ("SIP Failure Code", 503, Status.SERVICE_UNAVAILABLE),
        ("SIP Failure Code", 487, Status.OTHER),
        ("SIP Failure Code", 200, Status.OTHER),
        (None, None, Status.OTHER),
    ],
)
def test_sip_causes_become_bitrix24_status_codes(cause, code, status):
    assert status_for(cause, code) == status


def test_settings_are_checked_at_once():
    with pytest.raises(ValueError, match="WebSocket URL"):
        SipSoftphone("https://pbx.example.com", "sip:101@pbx.example.com")
    with pytest.raises(ValueError, match="SIP address"):
        SipSoftphone(SERVER, "101")
    with pytest.raises(ValueError, match="dtmf"):
        SipSoftphone(SERVER, "sip:101@x", dtmf="inband")
    assert SipSoftphone(SERVER, account=lambda: None).domain == "pbx.example.com"


def test_the_phone_starts_with_leadership_and_stops_without_it():
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = setup()
        out.update(logged=logged, softphone=softphone)
        await portal.settle()
        assert softphone.registration == "registered" and phone.registered
        assert phone.options == {
            "server": SERVER,
            "uri": "sip:101@pbx.example.com",
            "password": "s3cret",
            "displayName": None,
            "dtmf": "rfc4733",
            "iceServers": [],
            "iceTransportPolicy": "all",
            "codecs": [],
            "registerExpires": 600,
        }
        softphone.lead(False)
        assert not phone.registered and softphone.phone is None
        softphone.lead(True)
        await portal.settle()
        assert phone.registered

    run(go())


def test_a_phone_stopped_while_it_starts_does_not_stay_registered():
    phone = FakeSipPhone()
    softphone = SipSoftphone(SERVER, "sip:101@x", new_phone=phone.create)

    async def go():
        task = softphone.start()
        softphone.stop()  # the frame lost the lead before the phone was up
        await task
        assert softphone.phone is None and not phone.registered

    run(go())


def test_the_password_is_never_in_a_log_or_a_repr():
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = setup()
        out.update(logged=logged, softphone=softphone)
        await portal.settle()
        phone._emit(type="registration", state="failed", cause="Authentication Error", code=401)
        assert (
            softphone.registration_problem
            == "Softphone offline: the SIP server did not accept the operator's SIP password (401)"
        )

    run(go())
    assert out["logged"] and not any("s3cret" in line for line in out["logged"])
    assert "s3cret" not in repr(out["softphone"])


def test_an_incoming_call_answered_and_hung_up_from_the_card():
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        out.update(logged=logged, softphone=softphone)
        [call] = calls.calls
        assert call.handle == "in-1" and calls.current is call
        portal.click("answer")
        await portal.settle()
        portal.click("mute", True)
        portal.click("hold", True)
        portal.click("dialpad", "5")
        await portal.settle()
        portal.advance(30)
        portal.click("hangup")
        await portal.settle()
        assert phone.said == [
            "answer the call from +15550001122",
            "microphone muted",
            "call held",
            "DTMF 5",
            "hang up",
        ]
        assert finishes(portal)[-1]["STATUS_CODE"] == "200"
        assert finishes(portal)[-1]["DURATION"] == "30"

    run(go())
    assert out["logged"] == []


@pytest.mark.parametrize(
    "far_end, status",
    [
        (lambda phone: phone.hang_up(), "304"),  # gave up while it rang
        (lambda phone: phone.fail("486", "Busy"), "486"),
        (lambda phone: phone.fail("404", "Not Found"), "404"),
    ],
)
def test_what_the_far_end_does_before_an_answer(far_end, status):
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        out.update(logged=logged, softphone=softphone)
        far_end(phone)
        await portal.settle()
        assert finishes(portal)[-1]["STATUS_CODE"] == status

    run(go())


def test_an_outgoing_call_dials_the_number_at_the_sip_domain():
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = setup(domain="calls.example.com")
        out.update(logged=logged, softphone=softphone)
        await portal.settle()
        call = await calls.dial("+15550009999")
        assert call.handle == "out-1" and phone.said == ["dial +15550009999"]
        phone.pick_up()
        await portal.settle()
        assert call.state == "connected"
        portal.click("transfer", "17")
        await portal.settle()  # the card shows the transfer's second step
        portal.click("completeTransfer")
        await portal.settle()
        assert phone.said[-1] == "transfer to 17"
        assert finishes(portal)[-1]["STATUS_CODE"] == "200"

    run(go())


def test_the_account_comes_from_the_app_when_the_phone_starts():
    async def account():
        return {"user": "205", "password": "pw", "display_name": "Ann"}

    phone = FakeSipPhone()
    softphone = SipSoftphone(SERVER, account=account, new_phone=phone.create)

    async def go():
        await softphone.start()
        assert phone.options["uri"] == "sip:205@pbx.example.com"
        assert phone.options["displayName"] == "Ann" and phone.options["password"] == "pw"

    run(go())


def test_an_operator_without_a_sip_account_is_told_not_crashed():
    async def account():
        return {"user": None}

    phone, logged = FakeSipPhone(), []
    softphone = SipSoftphone(SERVER, account=account, new_phone=phone.create, log=logged.append)

    async def go():
        await softphone.start()

    run(go())
    assert phone.options is None and softphone.registration == "failed"
    assert softphone.registration_problem.startswith(
        "Softphone offline: no SIP account for this operator"
    )


@pytest.mark.parametrize("step", ["account", "phone"])
def test_a_phone_that_cannot_start_says_why_whatever_failed(step):
    """The account's REST failing (user.option.get refused) or the phone's script failing to
    load: the phone is failed with the reason, for the card and the log; never silent."""
    from bx24 import RestError

    async def account():
        if step == "account":
            raise RestError("user.option.get", "ACCESS_DENIED", "Access denied", {}, status=403)
        return {"user": "205", "password": "pw"}

    async def new_phone(options_json, receive):
        raise RuntimeError("cannot load jssip.mjs")

    logged = []
    softphone = SipSoftphone(SERVER, account=account, new_phone=new_phone, log=logged.append)

    async def go():
        await softphone.start()

    run(go())
    assert softphone.registration == "failed"
    reason = "ACCESS_DENIED" if step == "account" else "cannot load jssip.mjs"
    assert reason in softphone.registration_problem
    assert any(reason in line for line in logged)


def test_the_sample_puts_a_phone_that_did_not_start_on_the_card():
    """The sample app (bx24 new's main.py) when user.option.get fails: the card says why."""
    from pathlib import Path

    from bx24_testing.fake import run as run_fake

    main = Path(__file__).resolve().parents[2] / "pylib/bx24_frame/template/frame/main.py"

    async def go():
        portal = FakePortal()
        portal.model.respond(
            "user.option.get",
            {"error": "ACCESS_DENIED", "error_description": "Access denied", "status": 403},
        )
        app = await portal.load_app(main)
        await portal.settle()
        assert app["softphone"].registration == "failed"
        portal.raise_call(PHONE_NUMBER="+15550001122")
        await portal.settle()
        texts = [
            params["statusText"]
            for command, params in portal.commands
            if command == "CallCardSetStatusText"
        ]
        assert texts and "ACCESS_DENIED" in texts[-1], texts

    run_fake(go())


def test_a_page_closing_mid_call_leaves_a_note_and_stops_the_phone():
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        out.update(logged=logged, softphone=softphone)
        notes = []
        portal.bridge.leave_note = notes.append
        portal.click("answer")
        await portal.settle()
        calls.page_closing()
        assert notes == ["The call with +15550001122 was cut off: the page it was on closed."]
        assert not phone.registered

    run(go())


def test_what_the_phone_sends_that_is_not_json_is_logged_and_dropped():
    logged = []
    softphone = SipSoftphone(SERVER, "sip:101@x", log=logged.append)
    softphone._receive("not json")
    softphone._receive(json.dumps({"type": "dtmf", "id": "nobody", "key": "1"}))
    assert logged == ["the SIP phone sent something that is not JSON: 'not json'"]


def test_a_call_the_connection_drops_is_not_left_going():
    """JsSIP ends a session with originator "system" when the WebSocket or a timer gives up."""
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        portal.click("answer")
        await portal.settle()
        phone._emit(
            type="failed", id="in-1", originator="system", cause="Connection Error", code=None
        )
        await portal.settle()
        finish = finishes(portal)[-1]
        out.update(
            status=finish["STATUS_CODE"], reason=finish.get("FAILED_REASON"), active=calls.active
        )

    run(go())
    # it was answered and talked: an answered call, cut off, and why
    assert out == {"status": "200", "reason": "Connection Error", "active": []}


@pytest.mark.parametrize(
    "cause, words",
    [
        ("Dialog Error", "the other side no longer had the call"),
        ("Request Timeout", "the other side stopped answering"),
        ("WebRTC Error", "it failed in the browser (WebRTC Error)"),
    ],
)
def test_a_call_jssip_ends_by_itself_is_finished_once_and_said(cause, words):
    """JsSIP ends a session itself, originator "local" (a re-INVITE after a dropped link
    answered 481: the other side hung up meanwhile): not the operator's hang-up, yet over."""
    out = {}

    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        notes = []
        portal.bridge.leave_note = notes.append
        portal.click("answer")
        await portal.settle()
        phone._emit(type="ended", id="in-1", originator="local", cause=cause)
        await portal.settle()
        out.update(finishes=finishes(portal), notes=notes, active=calls.active, logged=logged)

    run(go())
    [finish] = out["finishes"]
    assert finish["STATUS_CODE"] == "200" and words in finish["FAILED_REASON"]
    assert out["notes"] == [f"The call with +15550001122 was cut off: {finish['FAILED_REASON']}."]
    assert out["active"] == [] and any(words in line for line in out["logged"])


# -- a real network's settings (issue 23): failover, ICE, codecs, the registration's lifetime


async def started(softphone):
    await softphone.start()


def test_a_real_networks_settings_reach_the_phone():
    phone = FakeSipPhone()
    softphone = SipSoftphone(
        ["wss://edge1.example.com/ws", "wss://edge2.example.com/ws"],
        "sip:101@pbx.example.com",
        password="pw",
        new_phone=phone.create,
        ice_servers=[{"urls": "stun:stun.example.com:3478"}],
        ice_transport_policy="relay",
        codecs=["opus", "PCMU"],
        register_expires=300,
    )
    run(started(softphone))
    assert phone.options["server"] == ["wss://edge1.example.com/ws", "wss://edge2.example.com/ws"]
    assert phone.options["iceServers"] == [{"urls": "stun:stun.example.com:3478"}]
    assert phone.options["iceTransportPolicy"] == "relay"
    assert phone.options["codecs"] == ["opus", "PCMU"]
    assert phone.options["registerExpires"] == 300
    assert softphone.domain == "pbx.example.com"


def test_turn_credentials_are_asked_for_each_time_the_phone_starts_and_never_logged():
    asked = []

    async def ice_servers():
        asked.append(1)
        return [{"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "t0p"}]

    phone, logged = FakeSipPhone(), []
    softphone = SipSoftphone(
        SERVER, "sip:101@x", new_phone=phone.create, ice_servers=ice_servers, log=logged.append
    )
    run(started(softphone))
    assert phone.options["iceServers"][0]["credential"] == "t0p"
    softphone.stop()
    run(started(softphone))
    assert len(asked) == 2
    assert "t0p" not in repr(softphone) and not any("t0p" in line for line in logged)


def test_ice_servers_that_cannot_be_had_are_said_on_the_card():
    async def ice_servers():
        return [{"urls": "https://not-a-turn-server"}]

    phone, logged = FakeSipPhone(), []
    softphone = SipSoftphone(
        SERVER, "sip:101@x", new_phone=phone.create, ice_servers=ice_servers, log=logged.append
    )
    run(started(softphone))
    assert phone.options is None and softphone.registration == "failed"
    assert "ICE (STUN/TURN) servers" in softphone.registration_problem


@pytest.mark.parametrize(
    "options, message",
    [
        ({"server": []}, "WebSocket URL"),
        ({"server": ["wss://a", "sip:b"]}, "WebSocket URL"),
        ({"ice_transport_policy": "turn"}, "ice_transport_policy"),
        ({"ice_servers": [{"urls": "http://x"}]}, "ice_servers"),
        ({"ice_servers": {"urls": "stun:x"}}, "ice_servers"),
        ({"codecs": "opus"}, "codecs"),
        ({"register_expires": 10}, "register_expires"),
    ],
)
def test_a_real_networks_settings_are_checked_at_once(options, message):
    server = options.pop("server", SERVER)
    with pytest.raises(ValueError, match=message):
        SipSoftphone(server, "sip:101@x", **options)


# -- the microphone (issue 23): none, blocked, unplugged mid-call: said, finished once


@pytest.mark.parametrize(
    "problem, said",
    [("denied", "blocked the microphone"), ("missing", "no microphone found")],
)
def test_a_call_answered_without_a_microphone_is_said_and_finished_once(problem, said):
    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        portal.click("answer")
        await portal.settle()
        # JsSIP: getUserMedia failed, then the session failed here (480 to the caller)
        phone.microphone_fails(problem)
        await portal.settle()
        return portal, logged

    portal, logged = run(go())
    [finish] = finishes(portal)
    assert finish["STATUS_CODE"] == Status.UNAVAILABLE and said in finish["FAILED_REASON"]
    assert any(said in line for line in logged)  # the console and the app's server
    texts = [p.get("statusText") for c, p in portal.commands if c == "CallCardSetStatusText"]
    assert any(said in (t or "").lower() for t in texts)


def test_a_microphone_unplugged_mid_call_ends_it_as_answered_with_the_reason():
    async def go():
        portal, phone, softphone, calls, logged = await ringing()
        portal.click("answer")
        await portal.settle()
        phone.pick_up()
        await portal.settle()
        phone.microphone_fails("lost")
        await portal.settle()
        return portal, phone

    portal, phone = run(go())
    [finish] = finishes(portal)
    assert finish["STATUS_CODE"] == Status.ANSWERED
    assert "unplugged" in finish["FAILED_REASON"]
    assert phone.said[-1] == "hang up"  # the SIP call ends too


@pytest.mark.parametrize(
    "event, text",
    [
        (
            {"state": "failed", "cause": "Rejected", "code": 403},
            "the SIP server refused the operator (403)",
        ),
        (  # no answer at all: JsSIP gives no response, SIP calls it 408
            {"state": "failed", "cause": "Request Timeout", "code": None},
            "the SIP server did not answer in time (408)",
        ),
        (
            {"state": "disconnected", "cause": None, "code": None},
            "the connection to the SIP server dropped: reconnecting",
        ),
        (
            {"state": "disconnected", "cause": "network", "code": None},
            "this computer's network is down",
        ),
        (
            {"state": "failed", "cause": "SIP Failure Code", "code": 503},
            "SIP Failure Code (503)",
        ),
    ],
)
def test_why_the_phone_is_offline_in_words_and_async_hooks_hear_it(event, text):
    """What the card says when a registration, a refresh or the link fails, and a hook that is
    async (the sample's, which writes the card) runs with each change."""
    heard = []

    async def go():
        portal, phone, softphone, calls, logged = setup()

        @softphone.on_registration
        async def hook(p):
            heard.append((p.registration, p.registration_problem))

        await portal.settle()
        phone._emit(type="registration", **event)
        await portal.settle()
        assert softphone.registration_problem == "Softphone offline: " + text
        assert any(text in line for line in logged)
        phone._emit(type="registration", state="registered", cause=None, code=200)
        await portal.settle()
        assert softphone.registration_problem is None

    run(go())
    assert heard[-2:] == [(event["state"], "Softphone offline: " + text), ("registered", None)]
