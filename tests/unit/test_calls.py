"""bx24.calls in CPython over the fake portal: a softphone's calls on Bitrix24's card, from ring
to finish (states, DURATION, STATUS_CODE, exactly one finish), as the module doc promises."""

import pytest

from bx24 import StandInSoftphone, Status
from bx24.calls import CONNECTED, ENDED, HELD, RINGING, TRANSFERRING
from bx24_testing.fake import FakePortal, decode_form
from fake_bridge import run


class Recorder(StandInSoftphone):
    def __init__(self):
        super().__init__(say=lambda text: None)


def setup(**options):
    portal = FakePortal(user_id=7)
    softphone = Recorder()
    logged = []
    calls = portal.calls(softphone, line_number="line1", log=logged.append, **options)
    seen = []
    for hook in ("shown", "entity", "connected", "ended"):
        calls.on(hook)(lambda call, hook=hook: seen.append((hook, call.state)))
    return portal, softphone, calls, seen, logged


async def answered(portal, calls, number="+15550001122"):
    """A call from ``number`` rings, its card opens, the operator answers on it."""
    call = calls.incoming(number)
    await portal.settle()
    portal.click("answer")
    await portal.settle()
    return call


def finishes(portal):
    return [c["params"] for c in portal.rest_calls("telephony.externalcall.finish")]


def card_commands(portal, name=None):
    return [params for command, params in portal.commands if name is None or command == name]


def scenario(coroutine_function):
    return run(coroutine_function())


def test_an_incoming_call_from_ring_to_transfer():
    portal, softphone, calls, seen, logged = setup()

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        [register] = portal.rest_calls("telephony.externalcall.register")
        assert register["params"] == {
            "PHONE_NUMBER": "+15550001122",
            "TYPE": "2",
            "USER_ID": "7",
            "LINE_NUMBER": "line1",
            "EXTERNAL_CALL_ID": "fake-1",
            "SHOW": "1",
        }
        assert call.call_id == portal.call["CALL_ID"] and calls.current is call
        assert call.state == RINGING and seen == [("shown", RINGING)]

        portal.click("answer")
        await portal.settle()
        assert call.state == CONNECTED and softphone.said[-1].startswith("answer the call")
        assert card_commands(portal, "CallCardSetUiState")[-1] == {"uiState": "connected"}
        portal.advance(30)
        portal.click("mute", True)
        portal.click("hold", True)
        portal.click("dialpad", "5")
        await portal.settle()
        assert (call.muted, call.held, call.state) == (True, True, HELD)
        assert card_commands(portal, "CallCardSetMute") == [{"muted": True}]
        assert card_commands(portal, "CallCardSetHold") == [{"held": True}]
        portal.click("hold", False)
        portal.advance(12)
        portal.click("transfer", "17")
        await portal.settle()
        assert call.state == TRANSFERRING
        assert card_commands(portal, "CallCardSetUiState")[-1] == {"uiState": "transferring"}
        portal.click("completeTransfer")
        await portal.settle()
        return call

    call = scenario(go)
    assert softphone.said == [
        "answer the call from +15550001122",
        "microphone muted",
        "call held",
        "DTMF 5",
        "call resumed",
        "transfer to 17",
    ]
    assert call.state == ENDED and call.duration == 42
    assert finishes(portal) == [
        {"CALL_ID": call.call_id, "DURATION": "42", "USER_ID": "7", "STATUS_CODE": "200"}
    ]
    assert card_commands(portal, "CallCardSetUiState")[-1] == {"uiState": "transferConnected"}
    assert ("CallCardClose", {}) in portal.commands and not portal.card_open
    assert seen == [("shown", RINGING), ("connected", CONNECTED), ("ended", ENDED)]
    assert logged == []


def test_a_missed_call_finishes_304():
    portal, softphone, calls, seen, _ = setup()

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        portal.advance(20)
        softphone.hang_up_remote()  # the caller gives up while it rings
        await portal.settle()
        return call

    call = scenario(go)
    assert finishes(portal) == [
        {"CALL_ID": call.call_id, "DURATION": "0", "USER_ID": "7", "STATUS_CODE": Status.MISSED}
    ]
    assert not portal.card_open and seen[-1] == ("ended", ENDED)


def test_skip_declines_603():
    portal, softphone, calls, _, _ = setup()

    async def go():
        calls.incoming("+15550001122")
        await portal.settle()
        portal.click("skip")
        await portal.settle()

    scenario(go)
    assert softphone.said[-1] == "reject the call (603)"
    assert finishes(portal)[0]["STATUS_CODE"] == Status.DECLINED


def test_an_outgoing_call_dialled_by_the_app():
    portal, softphone, calls, seen, _ = setup()

    async def go():
        call = await calls.dial("+15550009999")
        await portal.settle()
        assert portal.rest_calls("telephony.externalcall.register")[0]["params"]["TYPE"] == "1"
        assert softphone.said[-1] == "dial +15550009999"
        assert card_commands(portal, "CallCardSetUiState")[-1] == {"uiState": "connectingOutgoing"}
        softphone.pick_up()
        await portal.settle()
        portal.advance(5)
        portal.click("hangup")
        await portal.settle()
        return call

    call = scenario(go)
    assert call.direction == "outgoing"
    assert finishes(portal)[0]["STATUS_CODE"] == "200" and finishes(portal)[0]["DURATION"] == "5"


def test_click_to_call_uses_the_call_id_bitrix24_registered():
    portal, softphone, calls, _, _ = setup()

    async def go():
        shown = portal.raise_call(CALL_DIRECTION="outgoing", PHONE_NUMBER="+15550004444")
        await portal.settle()
        portal.click("makeCall")
        await portal.settle()
        softphone.fail(Status.BUSY, "busy here")
        await portal.settle()
        return shown

    shown = scenario(go)
    assert portal.rest_calls("telephony.externalcall.register") == []
    assert softphone.said[-1] == "dial +15550004444"
    assert finishes(portal) == [
        {
            "CALL_ID": shown["CALL_ID"],
            "DURATION": "0",
            "USER_ID": "7",
            "STATUS_CODE": Status.BUSY,
            "FAILED_REASON": "busy here",
        }
    ]


def test_finish_is_sent_once_whatever_ends_the_call():
    portal, softphone, calls, _, _ = setup()

    async def go():
        call = await answered(portal, calls)
        softphone.hang_up_remote()
        softphone.hang_up_remote()
        portal.click("hangup") if portal.card_open else None
        await call.hang_up()
        await portal.settle()
        calls.page_closing()

    scenario(go)
    assert len(finishes(portal)) == 1 and portal.bridge.beacons == []


def test_a_page_closing_mid_call_finishes_it_without_waiting():
    portal, softphone, calls, _, _ = setup()

    async def go():
        call = await answered(portal, calls)
        portal.advance(9.6)
        portal.bridge.page_hide()  # what bx24.browser wires to pagehide
        return call

    call = scenario(go)
    [(method, body)] = portal.bridge.beacons
    assert method == "telephony.externalcall.finish"
    assert decode_form(body) == {
        "CALL_ID": call.call_id,
        "DURATION": "10",
        "STATUS_CODE": "200",
        "USER_ID": "7",
    }


def test_the_card_may_open_after_the_register_answer():
    portal, _, calls, seen, _ = setup()
    portal.card_before_answer = False

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        return call

    call = scenario(go)
    assert calls.current is call and call.info.call_id == call.call_id
    assert seen == [("shown", RINGING)]


def test_a_crm_client_known_before_the_card_is_in_shown_not_overwritten_later():
    portal, _, calls, seen, _ = setup()
    entities = []
    calls.on("shown")(lambda call: entities.append(("shown", call.entity)))
    calls.on("entity")(lambda call: entities.append(("entity", call.entity)))

    async def go():
        portal.fire(
            "entityChanged",
            {"PHONE_NUMBER": "+15550001122", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 5},
        )
        calls.incoming("+15550001122")
        await portal.settle()
        portal.fire(
            "entityChanged",
            {"PHONE_NUMBER": "+15550001122", "CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 8},
        )
        await portal.settle()

    scenario(go)
    assert [(when, e.crm_entity_type, e.crm_entity_id) for when, e in entities] == [
        ("shown", "LEAD", 5),
        ("entity", "CONTACT", 8),
    ]


def test_a_failing_hook_is_logged_and_the_call_goes_on():
    portal, _, calls, _, logged = setup()

    @calls.on("shown")
    def broken(call):
        raise RuntimeError("no title for you")

    async def go():
        call = await answered(portal, calls)
        return call

    assert scenario(go).state == CONNECTED
    assert any("hook broken of 'shown' raised" in line and "no title" in line for line in logged)


def test_a_registration_that_fails_is_logged_the_softphone_call_stays():
    portal, _, calls, _, logged = setup()
    portal.respond("telephony.externalcall.register", {"status": 403, "error": "WRONG_AUTH_TYPE"})

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        return call

    call = scenario(go)
    assert call.state == RINGING and call.call_id is None and calls.current is None
    assert any("WRONG_AUTH_TYPE" in line for line in logged)


def test_every_call_gets_its_own_external_id_so_bitrix24_never_merges_two():
    portal, softphone, calls, _, _ = setup()

    async def go():
        for _ in range(2):
            calls.incoming("+15550001122")
            await portal.settle()
            softphone.hang_up_remote()
            await portal.settle()

    scenario(go)
    registers = portal.rest_calls("telephony.externalcall.register")
    assert len({r["params"]["EXTERNAL_CALL_ID"] for r in registers}) == 2
    assert len({f["CALL_ID"] for f in finishes(portal)}) == 2


def test_unknown_hooks_are_refused():
    _, _, calls, _, _ = setup()
    with pytest.raises(ValueError, match="unknown hook"):
        calls.on("answered")


def test_hanging_up_an_outgoing_call_before_the_answer_cancels_it():
    portal, softphone, calls, _, _ = setup()

    async def go():
        await calls.dial("+15550009999")
        await portal.settle()
        portal.click("hangup")
        await portal.settle()

    scenario(go)
    assert finishes(portal)[0]["STATUS_CODE"] == Status.CANCELLED == "603-S"
    assert softphone.said[-1] == "hang up"


def test_the_other_side_hangs_up_a_connected_call():
    portal, softphone, calls, _, _ = setup()

    async def go():
        call = await answered(portal, calls)
        portal.advance(7)
        softphone.hang_up_remote()
        await portal.settle()
        return call

    call = scenario(go)
    assert (call.status, call.duration) == (Status.ANSWERED, 7)
    assert finishes(portal)[0]["DURATION"] == "7" and not portal.card_open
    assert softphone.said == ["answer the call from +15550001122"]  # nothing to hang up


def test_a_cancelled_transfer_goes_back_to_the_call():
    portal, softphone, calls, _, _ = setup()

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        portal.click("answer")
        await portal.settle()  # the card shows the call connected (transfer is shown then)
        portal.click("transfer", "+15550199887")
        await portal.settle()
        assert (call.state, call.transfer_target) == (TRANSFERRING, "+15550199887")
        portal.click("cancelTransfer")
        await portal.settle()
        return call

    call = scenario(go)
    assert (call.state, call.transfer_target) == (CONNECTED, None)
    assert card_commands(portal, "CallCardSetUiState")[-1] == {"uiState": "connected"}
    assert finishes(portal) == [] and "transfer to" not in " ".join(softphone.said)


def test_closing_the_card_hangs_up_a_live_call():
    portal, softphone, calls, _, _ = setup()

    async def go():
        calls.incoming("+15550001122")
        await portal.settle()
        portal.click("answer")
        await portal.settle()
        portal.fire("closeButtonClick")
        await portal.settle()

    scenario(go)
    assert softphone.said[-1] == "hang up" and finishes(portal)[0]["STATUS_CODE"] == "200"
    assert calls.current is None


def test_clicks_on_a_card_that_is_not_one_of_its_calls_do_nothing():
    portal, softphone, calls, seen, _ = setup()

    async def go():
        portal.raise_call(CALL_DIRECTION="incoming")  # Bitrix24's own call, not the softphone's
        await portal.settle()
        portal.click("answer")
        portal.click("skip")
        await portal.settle()

    scenario(go)
    assert softphone.said == [] and seen == [] and finishes(portal) == []


# -- what goes to Bitrix24 besides: fields, the skip's status, the rating, the comments ---------


def test_register_and_finish_carry_the_sessions_and_the_calls_fields():
    portal, softphone, calls, seen, logged = setup(
        register={"CRM_CREATE": True, "CRM_SOURCE": "CALL"},
        finish={"COST": 0.12, "COST_CURRENCY": "EUR"},
    )

    async def go():
        call = calls.incoming("+15550001122", register={"ADD_TO_CHAT": False})
        await portal.settle()
        [register] = portal.rest_calls("telephony.externalcall.register")
        assert {k: register["params"][k] for k in ("CRM_CREATE", "CRM_SOURCE", "ADD_TO_CHAT")} == {
            "CRM_CREATE": "1",
            "CRM_SOURCE": "CALL",
            "ADD_TO_CHAT": "0",
        }
        lead = register["answer"]["result"]["CRM_CREATED_LEAD"]
        assert lead and portal.model.leads[lead]["PHONE"] == "+15550001122"  # CRM_CREATE made it
        assert call.registered.crm_created_lead == lead

        @calls.on("finishing")
        def add_record(call):
            call.finish_fields["RECORD_URL"] = "https://rec.example.com/1.mp3"

        portal.click("answer")
        await portal.settle()
        portal.fire("qualityMeterClick", "4")
        await portal.settle()
        portal.click("hangup")
        await portal.settle()
        [finish] = finishes(portal)
        assert {k: finish[k] for k in ("VOTE", "COST", "COST_CURRENCY", "RECORD_URL")} == {
            "VOTE": "4",
            "COST": "0.12",
            "COST_CURRENCY": "EUR",
            "RECORD_URL": "https://rec.example.com/1.mp3",
        }
        assert call.finish_record["CALL_VOTE"] == 4

    scenario(go)


def test_bad_fields_are_refused_in_words():
    from bx24.telephony import Telephony

    telephony = Telephony(FakePortal().rest())
    with pytest.raises(ValueError, match="capitals"):
        run(telephony.register("+1555", fields={"crm_create": True}))
    with pytest.raises(ValueError, match="VOTE is the call's rating, 1 to 5"):
        run(telephony.finish("c1", 3, fields={"VOTE": 9}))
    with pytest.raises(ValueError, match="skip_status"):
        setup(skip_status="999")


@pytest.mark.parametrize("skip_status", [Status.DECLINED, Status.MISSED])
def test_the_skip_button_finishes_with_the_sessions_skip_status(skip_status):
    portal, softphone, calls, seen, logged = setup(skip_status=skip_status)

    async def go():
        call = calls.incoming("+15550001122")
        await portal.settle()
        portal.click("skip")
        await portal.settle()
        [finish] = finishes(portal)
        assert finish["STATUS_CODE"] == skip_status and call.status == skip_status

    scenario(go)


def test_the_cards_comments_are_kept_and_written_to_the_calls_crm_activity():
    portal, softphone, calls, seen, logged = setup()

    async def go():
        call = await answered(portal, calls)
        portal.fire("addCommentButtonClick", "wants a callback")
        await portal.settle()
        assert call.comments == ["wants a callback"]
        portal.click("hangup")
        await portal.settle()
        activity = call.finish_record["CRM_ACTIVITY_ID"]
        assert portal.model.activities[activity]["DESCRIPTION"] == "wants a callback"
        [update] = portal.rest_calls("crm.activity.update")
        assert update["params"] == {
            "id": str(activity),
            "fields": {"DESCRIPTION": "wants a callback"},
        }

    scenario(go)


def test_without_the_crm_scope_a_comment_stays_on_the_call_and_the_log_says_why():
    portal, softphone, calls, seen, logged = setup()
    portal.model.scope = tuple(s for s in portal.model.scope if s != "crm")

    async def go():
        call = await answered(portal, calls)
        portal.fire("addCommentButtonClick", "note")
        await portal.settle()
        portal.click("hangup")
        await portal.settle()
        assert call.comments == ["note"] and len(finishes(portal)) == 1
        assert any(
            "was not written to its CRM activity" in line and "insufficient_scope" in line
            for line in logged
        )

    scenario(go)
