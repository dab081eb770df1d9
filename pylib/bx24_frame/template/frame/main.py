"""Sample call-card logic: what an integrator writes with the bx24 library.

A SIP softphone in the frame (JsSIP over WebSocket, ``settings.py``) and Bitrix24's card, joined
by ``bx24.calls``: a call that rings is registered (the card opens), the operator's clicks drive
the softphone (answer, skip, hang up, mute, hold, dial pad, transfer), and the call is finished
in Bitrix24 with its duration and how it ended. This file only says what the card shows.

Only one frame of the operator's (tabs, sliders) registers the phone: the leader; if it goes
away, another takes over. In the emulator and the tests the phone is a stand-in that registers
at once (the Softphone panel and ``bx24_card.softphone`` play the other side).
"""

import bx24
import settings


async def operator_account():
    """The operator's SIP account: their inner number and the password they saved on the
    application's main page (``bx24.sip_account``)."""
    return await bx24.sip_account(calls.telephony)


softphone = bx24.page.sip_softphone(settings.SIP_SERVER, account=operator_account,
                               domain=settings.SIP_DOMAIN, dtmf=settings.DTMF,
                               ice_servers=settings.ICE_SERVERS,
                               ice_transport_policy=settings.ICE_TRANSPORT_POLICY,
                               codecs=settings.CODECS)
calls = bx24.page.calls(softphone, line_number=settings.LINE_NUMBER)
card = calls.card

DIRECTIONS = {"incoming": "Incoming call", "outgoing": "Outgoing call", "callback": "Callback"}


def status(call):
    """The card's status line, from all that is known of the call (the first that applies):
    what ended the operator's previous call, a softphone that is offline, talking, the CRM
    client, the line."""
    entity = call.entity
    if call.notes:  # a call cut off when the page that held it closed
        return " ".join(call.notes)
    if softphone.registration_problem:
        return softphone.registration_problem
    if call.state == "connected":
        return "Talking"
    if call.state == "held":
        return "On hold"
    if entity is not None and entity.crm_entity_type:
        return "CRM {} #{}".format(entity.crm_entity_type, entity.crm_entity_id)
    return "Line " + (call.line_number or "unknown")


async def show(call):
    """The card, written from all that is known of the call. It runs when the card is shown and
    again when the CRM client changes; a client known before the card was shown is already in
    ``call.entity`` then, so nothing written early is overwritten."""
    await card.set_title(DIRECTIONS.get(call.direction, "Call") + " " + call.phone_number)
    await card.set_status_text(status(call))


calls.on("shown")(show)
calls.on("entity")(show)


@calls.on("connected")
async def talking(call):
    await card.set_status_text(status(call))


@calls.on("ended")
def ended(call):
    print("call {} ended: {} after {} s".format(call.call_id, call.status, call.duration))


@softphone.on_registration
async def registration(phone):
    """The SIP link changed (a refresh refused, the network gone, back again): the console,
    and the card of a call in progress, say it."""
    print("softphone {}: {}".format(phone.registration, phone.registration_problem or phone.uri))
    call = calls.current  # the call the card shows
    if call is not None and call.active:
        await card.set_status_text(status(call))


@card.on("initialized")
async def say_if_offline(info):
    """Any card (one Bitrix24 raised too, click-to-call): say why no call can be made."""
    if softphone.registration_problem:
        await card.set_status_text(softphone.registration_problem)


@card.on("addCommentButtonClick")
def comment(text):
    print("comment: " + text)


@card.on("qualityMeterClick")
def rate(stars):
    print("call quality rated {}/5".format(stars))


calls.start()  # events fired while Python booted arrive now, in order; the page is ready
