"""Subscribing, order, removal, sync and async handlers, failures, and the boot queue."""

import asyncio

import pytest

from fake_bridge import INITIALIZED, in_thread, run


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def test_events_queued_before_attach_arrive_in_order_once(card, bridge):
    seen = []
    bridge.fire(
        "entityChanged", {"PHONE_NUMBER": "+7", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1}
    )
    bridge.fire("initialized", INITIALIZED)
    bridge.fire("muteButtonClick", True)
    card.on("entityChanged")(lambda e: seen.append("entity"))
    card.on("initialized")(lambda c: seen.append("initialized"))
    card.on("muteButtonClick")(lambda m: seen.append("mute"))
    assert seen == []
    card.attach()
    assert seen == ["entity", "initialized", "mute"]
    bridge.fire("muteButtonClick", False)
    assert seen == ["entity", "initialized", "mute", "mute"]


def test_attach_twice_is_an_error(card):
    card.attach()
    with pytest.raises(Exception, match="already attached"):
        card.attach()


def test_handlers_run_in_registration_order_and_get_the_payload(card, bridge):
    seen = []

    @card.on("dialpadButtonClick")
    def first(key):
        seen.append(("first", key))

    @card.on("BackgroundCallCard::dialpadButtonClick")
    def second(key):
        seen.append(("second", key))

    card.attach()
    bridge.fire("dialpadButtonClick", "5")
    assert seen == [("first", "5"), ("second", "5")]


def test_decorator_returns_the_function_so_it_stacks(card, bridge):
    seen = []

    @card.on("hangupButtonClick")
    @card.on("closeButtonClick")
    def ended():
        seen.append("ended")

    card.attach()
    bridge.fire("hangupButtonClick")
    bridge.fire("closeButtonClick")
    assert seen == ["ended", "ended"]
    assert card.handlers("hangupButtonClick") == [ended]


def test_same_handler_twice_runs_once(card, bridge):
    seen = []

    def handler():
        seen.append(1)

    card.on("skipButtonClick")(handler)
    card.on("skipButtonClick")(handler)
    card.attach()
    bridge.fire("skipButtonClick")
    assert seen == [1]


def test_removed_handlers_no_longer_run(card, bridge):
    seen = []
    keep = card.on("answerButtonClick")(lambda: seen.append("keep"))
    drop = card.on("answerButtonClick")(lambda: seen.append("drop"))
    card.off("answerButtonClick", drop)
    card.attach()
    bridge.fire("answerButtonClick")
    assert seen == ["keep"]
    with pytest.raises(ValueError):
        card.off("answerButtonClick", drop)
    assert card.handlers("answerButtonClick") == [keep]


def test_subscribing_to_unknown_events_or_non_callables_fails(card):
    with pytest.raises(ValueError, match="muteButtonClick"):
        card.on("mute")
    with pytest.raises(TypeError):
        card.on("muteButtonClick")("not callable")


def test_async_and_sync_handlers_both_run(card, bridge):
    seen = []

    @card.on("holdButtonClick")
    async def async_handler(held):
        await asyncio.sleep(0)
        seen.append(("async", held))

    @card.on("holdButtonClick")
    def sync_handler(held):
        seen.append(("sync", held))

    async def scenario():
        card.attach()
        bridge.fire("holdButtonClick", True)
        await settle()

    run(scenario())
    assert seen == [("sync", True), ("async", True)]


def test_a_raising_handler_is_logged_and_the_others_still_run(card, bridge, logs):
    seen = []

    @card.on("qualityMeterClick")
    def broken(rating):
        raise RuntimeError("boom in handler")

    @card.on("qualityMeterClick")
    async def broken_async(rating):
        raise KeyError("async boom")

    @card.on("qualityMeterClick")
    def fine(rating):
        seen.append(rating)

    async def scenario():
        card.attach()
        bridge.fire("qualityMeterClick", "4")
        bridge.fire("qualityMeterClick", "5")
        await settle()

    run(scenario())
    assert seen == [4, 5]
    text = "\n".join(logs)
    assert "broken" in text and "boom in handler" in text and "Traceback" in text
    assert "broken_async" in text and "async boom" in text


def test_a_malformed_payload_is_logged_with_the_event_name_and_dispatch_goes_on(card, bridge, logs):
    seen = []
    card.on("dialpadButtonClick")(seen.append)
    card.attach()
    bridge.fire("dialpadButtonClick", {"key": "5"})
    bridge.fire("dialpadButtonClick")  # undefined
    bridge.fire("dialpadButtonClick", "7")
    assert seen == ["7"]
    assert len(logs) == 2 and all("dialpadButtonClick" in line for line in logs)


@pytest.mark.parametrize(
    "garbage",
    [
        "not json",
        "[1, 2]",
        '{"type": "event"}',
        '{"type": "what"}',
        '{"type": "event", "name": "noSuchEvent"}',
        "null",
    ],
)
def test_garbage_from_the_bridge_is_logged_not_raised(card, bridge, logs, garbage):
    seen = []
    card.on("hangupButtonClick")(lambda: seen.append(1))
    card.attach()
    bridge.send_raw(garbage)
    bridge.fire("hangupButtonClick")
    assert seen == [1]
    assert len(logs) == 1


def test_a_handler_removing_itself_during_dispatch_does_not_skip_others(card, bridge):
    seen = []

    @card.on("nextButtonClick")
    def once():
        seen.append("once")
        card.off("nextButtonClick", once)

    card.on("nextButtonClick")(lambda: seen.append("always"))
    card.attach()
    bridge.fire("nextButtonClick")
    bridge.fire("nextButtonClick")
    assert seen == ["once", "always", "always"]


def test_handlers_of_payload_events_receive_parsed_objects(card, bridge):
    got = {}
    card.on("initialized")(lambda call: got.setdefault("call", call))
    card.on("transferButtonClick")(lambda t: got.setdefault("transfer", t))
    card.on("addCommentButtonClick")(lambda text: got.setdefault("comment", text))
    card.attach()
    bridge.fire("initialized", INITIALIZED)
    bridge.fire("transferButtonClick", {"phoneNumber": "+7", "target": "12"})
    bridge.fire("addCommentButtonClick", "hello")
    assert got["call"].call_id == INITIALIZED["CALL_ID"]
    assert got["transfer"].user_id == 12
    assert got["comment"] == "hello"


def test_an_async_handler_without_an_event_loop_is_logged_and_others_run(card, bridge, logs):
    seen = []

    @card.on("makeCallButtonClick")
    async def needs_a_loop():
        seen.append("never")

    card.on("makeCallButtonClick")(lambda: seen.append("sync"))
    card.attach()
    in_thread(lambda: bridge.fire("makeCallButtonClick"))  # no asyncio loop runs there
    assert seen == ["sync"]
    assert len(logs) == 1 and "needs_a_loop" in logs[0]
