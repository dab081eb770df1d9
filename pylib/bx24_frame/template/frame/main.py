"""Sample call-card logic: what an integrator writes with the bx24 library.

The softphone's calls go onto Bitrix24's card through ``bx24.calls``: a call that rings is
registered (the card opens), the operator's clicks drive the softphone (answer, skip, hang up,
mute, hold, dial pad, transfer), and the call is finished in Bitrix24 with its duration and how
it ended. This file only says what the card shows.

The softphone here is a stand-in with no telephony (it prints what a real one would do; the
emulator's "Softphone" panel plays the other side). Put your SIP/WebRTC client in its place
(``bx24.Softphone`` says what it must do).
"""

import bx24

softphone = bx24.StandInSoftphone()
calls = bx24.calls(softphone, line_number="line1")
card = calls.card

DIRECTIONS = {"incoming": "Incoming call", "outgoing": "Outgoing call", "callback": "Callback"}


async def show(call):
    """The card, written from all that is known of the call. It runs when the card is shown and
    again when the CRM client changes; a client known before the card was shown is already in
    ``call.entity`` then, so nothing written early is overwritten."""
    await card.set_title(DIRECTIONS.get(call.direction, "Call") + " " + call.phone_number)
    entity = call.entity
    if entity is not None and entity.crm_entity_type:
        await card.set_status_text("CRM {} #{}".format(entity.crm_entity_type, entity.crm_entity_id))
    else:
        await card.set_status_text("Line " + (call.line_number or "unknown"))


calls.on("shown")(show)
calls.on("entity")(show)


@calls.on("connected")
async def talking(call):
    await card.set_status_text("Talking")


@calls.on("ended")
def ended(call):
    print("call {} ended: {} after {} s".format(call.call_id, call.status, call.duration))


@card.on("addCommentButtonClick")
def comment(text):
    print("comment: " + text)


@card.on("qualityMeterClick")
def rate(stars):
    print("call quality rated {}/5".format(stars))


calls.start()  # events fired while Python booted arrive now, in order; the page is ready
