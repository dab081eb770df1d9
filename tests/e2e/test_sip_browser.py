"""The sample app's SIP softphone against a real SIP server (Debian's Kamailio on loopback), with
real media between two Chromium pages: the operator's frame (cross-site in the portal stand-in,
Bitrix24 played by the stub) and the customer's JsSIP phone in a page of its own.

Everything the operator does goes through the card (clicks); what is asserted is what the other
side sees (SIP events, RTP bytes and audio energy from getStats) and what Bitrix24 got (REST)."""

import time

import pytest

from bx24_testing.card import StubCard
from bx24_testing.frame import frame_url, open_frame, wait_until
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.sip import SipPhone, SipServer, operator_phone

REGISTER = "telephony.externalcall.register"
FINISH = "telephony.externalcall.finish"
OPERATOR = "101"  # the stub's UF_PHONE_INNER
CUSTOMER = "200"


@pytest.fixture(scope="module")
def sip():
    with SipServer() as server:
        yield server


@pytest.fixture(scope="module")
def sip_frame_server(make_sample, sip):
    """The sample app, its settings.py pointed at the test's Kamailio, DTMF by SIP INFO (the
    customer's JsSIP reports those; RFC 4733 tones it does not)."""
    return make_sample(
        {
            'DTMF = "rfc4733"': 'DTMF = "info"',
        },
        sip_server=sip,
    )


@pytest.fixture(scope="module")
def rfc4733_frame_server(make_sample, sip):
    """The sample app with its default DTMF: RFC 4733, in the audio."""
    return make_sample(sip_server=sip)


def open_operator(page, server, sip, interpreter, password=None):
    frame = open_frame(
        page,
        frame_url(server.url, interpreter),
        sip_stand_in=False,
        stub_config={
            "userOptions": {"sip_password": sip.password if password is None else password}
        },
    )
    return StubCard(frame)


@pytest.fixture(params=INTERPRETERS)
def interpreter(request):
    return request.param


@pytest.fixture
def operator(page, sip_frame_server, sip, interpreter):
    card = open_operator(page, sip_frame_server, sip, interpreter)
    wait_until(page, lambda: sip.contacts(OPERATOR), what="the operator's registration")
    yield card
    assert card.frame.python_errors() == []
    page.close()  # its WebSocket closes: Kamailio forgets the contact
    wait_until(None, lambda: not sip.contacts(OPERATOR), what="the operator's contact gone")


@pytest.fixture
def customer(browser, operator, sip):
    context = browser.new_context()
    phone = SipPhone.open(context.new_page(), operator.frame, sip, CUSTOMER)
    phone.wait_registered()
    yield phone
    context.close()


def operator_stats(card):
    return operator_phone(card, "stats")


def rises(page, stats_of, key, by=500):
    """``stats_of()[key]`` grows by ``by`` within a few seconds: media flows that way."""
    first = stats_of()[key]
    wait_until(page, lambda: stats_of()[key] > first + by, what=f"{key} rising past {first}")


def energy_rate(page, phone, call, window_ms=400):
    """How fast the audio energy ``phone`` receives grows (per second): ~0 for silence."""
    first = phone.stats(call)["inboundEnergy"]
    page.wait_for_timeout(window_ms)  # the window measured, not a wait for a state
    return (phone.stats(call)["inboundEnergy"] - first) * 1000 / window_ms


def ring(operator, customer, sip):
    """The customer calls; the card opens for it. (SIP call id, Bitrix24 CALL_ID)"""
    call = customer.call(OPERATOR, sip)
    register = operator.wait_for_rest(REGISTER, PHONE_NUMBER=CUSTOMER, TYPE=2, SHOW=1)
    operator.wait_for_command("CallCardSetCardTitle", title="Incoming call " + CUSTOMER)
    return call, register["answer"]["result"]["CALL_ID"]


def answered_call(operator, customer, sip):
    call, call_id = ring(operator, customer, sip)
    operator.click("answer")
    customer.wait_event("answered", id=call)
    operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
    return call, call_id


def test_a_customer_calls_the_operator_answers_talks_and_hangs_up(operator, customer, sip):
    page = customer.page
    call, call_id = answered_call(operator, customer, sip)
    answered = time.monotonic()
    rises(page, lambda: customer.stats(call), "inboundBytes")  # the operator's voice
    rises(page, lambda: operator_stats(operator), "inboundBytes")  # the customer's
    rises(page, lambda: customer.stats(call), "inboundEnergy", by=0)

    # mute: the customer hears silence (RTP goes on); unmute: the voice is back
    talking = energy_rate(page, customer, call)
    operator.click("mute", True)
    operator.wait_for_command("CallCardSetMute", muted=True)
    wait_until(
        page,
        lambda: energy_rate(page, customer, call) < talking / 20,
        what=f"silence on the customer's side (talking: {talking:.2e}/s)",
    )
    rises(page, lambda: customer.stats(call), "inboundBytes")  # RTP still flows
    operator.click("mute", False)
    operator.wait_for_command("CallCardSetMute", muted=False)
    wait_until(
        page,
        lambda: energy_rate(page, customer, call) > talking / 4,
        what="the operator's voice back",
    )

    # hold: a re-INVITE; the media direction changes on both sides, and back
    operator.click("hold", True)
    operator.wait_for_command("CallCardSetHold", held=True)
    wait_until(
        page,
        lambda: customer.direction(call) in ("recvonly", "inactive"),
        what="the customer's side held",
    )
    operator.click("hold", False)
    operator.wait_for_command("CallCardSetHold", held=False)
    wait_until(page, lambda: customer.direction(call) == "sendrecv", what="resumed")

    # a dial-pad key reaches the customer as DTMF (SIP INFO in this app's settings)
    operator.click("dialpad", "7")
    customer.wait_event("dtmf", id=call, key="7", originator="remote")

    operator.click("hangup")
    talked = time.monotonic() - answered
    customer.wait_event("ended", id=call, originator="remote")
    finish = operator.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="200")
    assert abs(int(finish["params"]["DURATION"]) - talked) <= 1.5, talked  # the talk time
    operator.wait_for_command("CallCardClose")
    assert len(operator.rest_calls(FINISH)) == 1


def test_dtmf_in_the_audio_by_default(page, rfc4733_frame_server, sip, interpreter, browser):
    """RFC 4733: the key goes as RTP events (the operator's RTCDTMFSender plays it out; JsSIP
    reports nothing on the receiving side, so that is what is observed), not as SIP INFO."""
    card = open_operator(page, rfc4733_frame_server, sip, interpreter)
    wait_until(page, lambda: sip.contacts(OPERATOR), what="registered")
    context = browser.new_context()
    customer = SipPhone.open(context.new_page(), card.frame, sip, CUSTOMER)
    customer.wait_registered()
    call, _ = answered_call(card, customer, sip)
    card.click("dialpad", "5")
    wait_until(
        page,
        lambda: [e for e in operator_phone(card, "recent", session=False) if e["type"] == "dtmf"],
        what="the tone played",
    )
    [tone] = [e for e in operator_phone(card, "recent", session=False) if e["type"] == "dtmf"]
    assert tone["key"] == "5" and tone["transport"] == "rfc4733"
    assert customer.events("dtmf") == []  # no SIP INFO
    card.click("hangup")
    customer.wait_event("ended", id=call)
    context.close()
    page.close()
    wait_until(None, lambda: not sip.contacts(OPERATOR), what="the operator's contact gone")


def test_the_customer_hangs_up(operator, customer, sip):
    call, call_id = answered_call(operator, customer, sip)
    customer.hang_up(call)
    operator.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="200")
    operator.wait_for_command("CallCardClose")


def test_a_customer_who_gives_up_while_it_rings_is_a_missed_call(operator, customer, sip):
    call, call_id = ring(operator, customer, sip)
    customer.hang_up(call)  # CANCEL
    finish = operator.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="304")
    assert finish["params"]["DURATION"] == "0"
    operator.wait_for_command("CallCardClose")


def test_the_operator_skips_a_call_the_customer_hears_declined(operator, customer, sip):
    call, call_id = ring(operator, customer, sip)
    operator.click("skip")
    failed = customer.wait_event("failed", id=call)
    assert failed["code"] == 603
    operator.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="603")


def test_the_operator_calls_the_customer_from_an_outgoing_card(operator, customer, sip):
    operator.raise_call(PHONE_NUMBER=CUSTOMER, CALL_DIRECTION="outgoing", ui_state="outgoing")
    operator.click("makeCall")
    incoming = customer.wait_event("incoming", number=OPERATOR)
    customer.answer(incoming["id"])
    operator.wait_for_command("CallCardSetStatusText", statusText="Talking")
    rises(customer.page, lambda: customer.stats(incoming["id"]), "inboundBytes")
    customer.hang_up(incoming["id"])
    operator.wait_for_rest(FINISH, STATUS_CODE="200")


def test_a_busy_customer_finishes_the_outgoing_call_with_486(operator, customer, sip):
    operator.raise_call(PHONE_NUMBER=CUSTOMER, CALL_DIRECTION="outgoing", ui_state="outgoing")
    operator.click("makeCall")
    incoming = customer.wait_event("incoming", number=OPERATOR)
    customer.reject(incoming["id"], 486)
    operator.wait_for_rest(FINISH, STATUS_CODE="486")


def test_a_blind_transfer_to_a_colleague(operator, customer, sip, browser):
    colleague_context = browser.new_context()
    colleague = SipPhone.open(colleague_context.new_page(), operator.frame, sip, "300")
    colleague.wait_registered()
    call, call_id = answered_call(operator, customer, sip)
    operator.click("transfer", "300")
    operator.wait_for_command("CallCardSetUiState", uiState="transferring")
    operator.click("completeTransfer")
    # the customer follows the REFER: a new call to the colleague, with media
    referred = customer.wait_event("referred", id=call)
    incoming = colleague.wait_event("incoming", number=CUSTOMER)
    colleague.answer(incoming["id"])
    customer.wait_event("answered", id=referred["newId"])
    rises(colleague.page, lambda: colleague.stats(incoming["id"]), "inboundBytes")
    operator.wait_for_rest(FINISH, CALL_ID=call_id, STATUS_CODE="200")
    customer.wait_event("ended", id=call)  # the operator's leg is over
    colleague_context.close()


def test_wrong_credentials_are_said_on_the_console_and_the_card(
    page, sip_frame_server, sip, interpreter
):
    card = open_operator(page, sip_frame_server, sip, interpreter, password="wrong")
    wait_until(
        page,
        lambda: any("Softphone offline" in line for line in card.frame.console),
        what="the registration failure on the console",
    )
    assert not sip.contacts(OPERATOR)
    assert not any("wrong" in line for line in card.frame.console)  # no password in a log
    card.raise_call(PHONE_NUMBER="+15550001122")  # the next card says why no call can be made
    card.wait_for_command(
        "CallCardSetStatusText",
        statusText="Softphone offline: the SIP server did not accept the operator's SIP password (401)",
    )


def test_the_phone_registers_again_when_the_sip_server_comes_back(
    page, sip_frame_server, sip, interpreter
):
    card = open_operator(page, sip_frame_server, sip, interpreter)
    wait_until(page, lambda: sip.contacts(OPERATOR), what="registered")
    sip.stop()
    try:
        wait_until(
            page,
            lambda: any("Softphone offline" in line for line in card.frame.console),
            what="the disconnection on the console",
        )
    finally:
        sip.start()
    wait_until(page, lambda: sip.contacts(OPERATOR), timeout_s=15, what="registered again")
    page.close()
    wait_until(None, lambda: not sip.contacts(OPERATOR), what="the operator's contact gone")


def alive(cards):
    return [c for c in cards if not c.page.is_closed() and not c.frame.target.is_detached()]


def leaders(cards):
    return [c for c in alive(cards) if c.frame.evaluate("bx24Frames.leader")]


def registrations(cards):
    return sum(len(c.rest_calls(REGISTER)) for c in alive(cards))


def test_one_registration_per_operator_across_tabs_and_sliders(
    browser, sip_frame_server, sip, interpreter
):
    """Three frames of one operator (two tabs, and a slider's frame in a third page of the same
    profile): one registers; a call rings in one; the leader's tab navigates away and another
    frame takes over within ~2 s; the next call still rings once."""
    before = sip.registers(OPERATOR)  # the module's Kamailio: earlier tests registered too
    context = browser.new_context()
    cards = [
        open_operator(context.new_page(), sip_frame_server, sip, interpreter) for _ in range(3)
    ]
    page = cards[-1].page
    wait_until(
        page,
        lambda: len(leaders(cards)) == 1 and sip.contacts(OPERATOR),
        what="one leader, registered",
    )
    [leader] = leaders(cards)
    assert len(sip.contacts(OPERATOR)) == 1 and sip.registers(OPERATOR) - before == 1

    customer = SipPhone.open(context.browser.new_page(), leader.frame, sip, CUSTOMER)
    customer.wait_registered()
    call, call_id = ring(leader, customer, sip)
    assert registrations(cards) == 1  # it rang once: only the leader's phone exists
    leader.click("answer")
    customer.wait_event("answered", id=call)

    # the leader's page navigates away mid-call: its call is finished (best effort), the
    # customer's call ends, another frame registers
    left = time.monotonic()
    leader.page.goto("about:blank")
    customer.wait_event("ended", id=call)
    wait_until(
        page,
        lambda: (
            len(leaders(cards)) == 1
            and len(sip.contacts(OPERATOR)) == 1
            and sip.registers(OPERATOR) - before == 2
        ),
        what="another frame registered",
    )
    took = time.monotonic() - left
    print(f"handover: a new REGISTER {took:.2f} s after the leader's page left")
    assert took < 3, f"the handover took {took:.1f} s"
    [successor] = leaders(cards)
    assert successor is not leader

    second = customer.call(OPERATOR, sip)
    successor.wait_for_rest(REGISTER, PHONE_NUMBER=CUSTOMER)
    successor.wait_for_command(
        "CallCardSetStatusText",
        statusText=(f"The call with {CUSTOMER} was cut off: the page it was on closed."),
    )
    assert registrations(cards) == 1  # the old leader's page is gone; one more call, once
    successor.click("answer")
    customer.wait_event("answered", id=second)
    customer.hang_up(second)
    successor.wait_for_rest(FINISH, STATUS_CODE="200")
    context.close()
    customer.page.close()
    wait_until(None, lambda: not sip.contacts(OPERATOR), what="the operator's contact gone")
