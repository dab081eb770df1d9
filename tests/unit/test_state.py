"""The card's last known state, and errors that arrive after their command returned."""

import asyncio

import pytest

from bx24 import CardUndefinedError, CommandError
from fake_bridge import INITIALIZED, run

CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]


def initialized(card, bridge):
    card.attach()
    bridge.fire("initialized", INITIALIZED)


def test_nothing_known_before_a_call(card):
    assert (card.active, card.call, card.entity, card.ui_state) == (False, None, None, None)
    assert (card.muted, card.held, card.timer_running) == (False, False, False)


def test_initialized_makes_the_card_active_with_the_call(card, bridge):
    initialized(card, bridge)
    assert card.active and card.call.call_id == INITIALIZED["CALL_ID"]


def test_state_is_tracked_before_handlers_run(card, bridge):
    seen = []
    card.on("initialized")(lambda call: seen.append(card.active and card.call is call))
    initialized(card, bridge)
    assert seen == [True]


def test_commands_update_state_on_success(card, bridge):
    initialized(card, bridge)

    async def scenario():
        await card.set_mute(True)
        await card.set_hold(True)
        await card.set_ui_state("connected")
        assert (card.muted, card.held, card.ui_state, card.timer_running) == (
            True,
            True,
            "connected",
            True,
        )
        await card.stop_timer()
        assert card.timer_running is False
        await card.start_timer()
        assert card.timer_running is True
        await card.set_ui_state("connected", auto_start_timer=False)
        assert card.timer_running is False
        await card.set_ui_state("transferring")
        assert card.ui_state == "transferring" and card.timer_running is False
        await card.set_mute(False)
        assert card.muted is False

    run(scenario())


def test_failed_commands_leave_state_alone(card, bridge):
    initialized(card, bridge)
    bridge.answer("CallCardSetMute", {"result": "error", "errorCode": "missing field muted"})
    bridge.answer("CallCardSetUiState", [{"result": "error", "errorCode": "Invalid ui state"}])

    async def scenario():
        with pytest.raises(CommandError):
            await card.set_mute(True)
        with pytest.raises(CommandError):
            await card.set_ui_state("connected")

    run(scenario())
    assert (card.muted, card.ui_state, card.active) == (False, None, True)


def test_clicks_do_not_change_muted_or_held(card, bridge):
    initialized(card, bridge)
    bridge.fire("muteButtonClick", True)
    bridge.fire("holdButtonClick", True)
    assert (card.muted, card.held) == (False, False)


def test_close_ends_the_card(card, bridge):
    initialized(card, bridge)
    run(card.close())
    assert card.active is False and card.call.call_id == INITIALIZED["CALL_ID"]


def test_close_button_ends_the_card(card, bridge):
    initialized(card, bridge)
    run(card.start_timer())
    bridge.fire("closeButtonClick")
    assert (card.active, card.timer_running) == (False, False)


def test_card_undefined_answer_marks_the_card_gone(card, bridge):
    initialized(card, bridge)
    bridge.answer("CallCardSetCardTitle", CARD_UNDEFINED)
    with pytest.raises(CardUndefinedError):
        run(card.set_title("x"))
    assert card.active is False


def test_a_new_call_resets_the_call_state(card, bridge):
    initialized(card, bridge)

    async def scenario():
        await card.set_mute(True)
        await card.set_ui_state("connected")
        await card.close()

    run(scenario())
    bridge.fire("initialized", dict(INITIALIZED, CALL_ID="second"))
    assert (card.active, card.call.call_id, card.muted, card.ui_state, card.timer_running) == (
        True,
        "second",
        False,
        None,
        False,
    )


def test_entity_changed_before_initialized_is_kept(card, bridge):
    card.attach()
    bridge.fire(
        "entityChanged", {"PHONE_NUMBER": "+7", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 5}
    )
    bridge.fire("initialized", INITIALIZED)
    assert card.entity.crm_entity_id == 5 and card.active


def test_state_is_read_only(card):
    with pytest.raises(AttributeError):
        card.active = True
    with pytest.raises(AttributeError):
        card.muted = True


def test_late_card_undefined_for_a_timer_command_is_logged_recorded_and_reported(
    card, bridge, logs
):
    initialized(card, bridge)
    bridge.silence("CallCardStartTimer")
    reported = []

    @card.on_late_error
    async def on_late(error):
        reported.append(error)

    async def scenario():
        await card.start_timer()  # no callback within the grace period: success
        assert card.timer_running is True
        bridge.late("CallCardStartTimer", CARD_UNDEFINED)
        await asyncio.sleep(0)

    run(scenario())
    error = card.last_late_error
    assert isinstance(error, CardUndefinedError) and error.command == "CallCardStartTimer"
    assert reported == [error]
    assert (card.timer_running, card.active) == (False, False)
    assert any("CallCardStartTimer" in line and "Call card is undefined" in line for line in logs)


def test_late_success_of_a_timer_is_silent(card, bridge, logs):
    card.attach()
    bridge.late("CallCardStopTimer", [])
    assert logs == [] and card.last_late_error is None


def test_late_answer_after_a_timeout_is_logged(card, bridge, logs):
    card.attach()
    bridge.late("CallCardSetCardTitle", [])
    assert len(logs) == 1 and "CallCardSetCardTitle" in logs[0]


def test_a_raising_late_error_handler_is_logged(card, bridge, logs):
    card.on_late_error(lambda error: 1 / 0)
    card.attach()
    bridge.late("CallCardStopTimer", CARD_UNDEFINED)
    assert any("ZeroDivisionError" in line for line in logs)
