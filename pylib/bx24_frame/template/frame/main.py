"""Sample call-card logic: what an integrator writes with the bx24 library.

Replace this file with your own. The flow: Bitrix24 raises the card for your
softphone's call and fires ``initialized``; the card shows who is calling; the
operator's clicks are mirrored to the softphone and back onto the card.
"""

import bx24


# ---------------------------------------------------------------------------
# STAND-IN SOFTPHONE: replace with your real WebRTC client. It only prints what
# a real softphone would do, so the sample runs without any telephony.
# ---------------------------------------------------------------------------
class StandInSoftphone:
    def __init__(self):
        self.muted = False
        self.held = False

    def _say(self, what):
        print("[softphone stand-in] " + what)

    def answer(self):
        self._say("answer the call")

    def reject(self):
        self._say("reject the call")

    def hang_up(self):
        self._say("hang up")

    def set_muted(self, muted):
        self.muted = muted
        self._say("microphone " + ("muted" if muted else "on"))

    def set_held(self, held):
        self.held = held
        self._say("call " + ("held" if held else "resumed"))

    def send_dtmf(self, key):
        self._say("DTMF " + key)

    def start_transfer(self, target):
        self._say("consult transfer to " + target)

    def complete_transfer(self):
        self._say("complete the transfer")

    def cancel_transfer(self):
        self._say("cancel the transfer, back to the caller")


softphone = StandInSoftphone()
# --------------------------------------------------------------------------- end of stand-in

card = bx24.card()

DIRECTIONS = {"incoming": "Incoming call", "outgoing": "Outgoing call", "callback": "Callback"}


@card.on("initialized")
async def show_call(call):
    caller = call.phone_number or "unknown number"
    await card.set_title(DIRECTIONS.get(call.direction, "Call") + " " + caller)
    await card.set_status_text("Line " + (call.line_name or call.line_number or "unknown"))


@card.on("entityChanged")
async def show_client(entity):
    if entity.crm_entity_type and card.active:
        await card.set_status_text("CRM {} #{}".format(entity.crm_entity_type, entity.crm_entity_id))


@card.on("answerButtonClick")
async def answer():
    softphone.answer()
    await card.set_ui_state("connected")  # also starts the call timer
    await card.set_status_text("Talking")


@card.on("skipButtonClick")
async def skip():
    softphone.reject()
    await card.close()


@card.on("muteButtonClick")
async def mute(muted):
    softphone.set_muted(muted)
    await card.set_mute(muted)


@card.on("holdButtonClick")
async def hold(held):
    softphone.set_held(held)
    await card.set_hold(held)


@card.on("dialpadButtonClick")
def dtmf(key):
    softphone.send_dtmf(key)


@card.on("hangupButtonClick")
async def hang_up():
    softphone.hang_up()
    await card.close()


@card.on("transferButtonClick")
async def transfer(target):
    softphone.start_transfer(target.target)
    await card.set_ui_state("transferring")
    who = "employee #{}".format(target.user_id) if target.is_user else target.target
    await card.set_status_text("Transferring to " + who)


@card.on("completeTransferButtonClick")
async def complete_transfer():
    softphone.complete_transfer()
    await card.set_ui_state("transferConnected")
    await card.set_status_text("Transferred")


@card.on("cancelTransferButtonClick")
async def cancel_transfer():
    softphone.cancel_transfer()
    await card.set_ui_state("connected")  # the timer resumes, it does not restart
    await card.set_status_text("Talking")


@card.on("closeButtonClick")
def closed():
    print("card closed by the operator")


@card.on("addCommentButtonClick")
def comment(text):
    print("comment: " + text)


@card.on("qualityMeterClick")
def rate(stars):
    print("call quality rated {}/5".format(stars))


card.attach()  # events fired while Python booted arrive now, in order; the page is ready
