"""Every event's payload as handlers receive it, and every malformed shape."""

import pytest

from bx24 import EVENTS, CallInfo, CrmBinding, Entity, MalformedPayloadError, TransferTarget
from bx24.events import event_name, parse
from fake_bridge import INITIALIZED


def test_there_are_17_events_with_unique_names():
    assert len(EVENTS) == 17 == len(set(EVENTS))


@pytest.mark.parametrize("name", ["muteButtonClick", "BackgroundCallCard::muteButtonClick"])
def test_event_names_with_or_without_prefix(name):
    assert event_name(name) == "muteButtonClick"


@pytest.mark.parametrize("name", ["mute", "MuteButtonClick", "BackgroundCallCard::nope", "", None])
def test_unknown_event_names_are_refused_with_the_list(name):
    with pytest.raises(ValueError) as caught:
        event_name(name)
    assert "initialized" in str(caught.value) and "notifyAdminButtonClick" in str(caught.value)


def test_initialized_full_payload():
    (info,) = parse("initialized", INITIALIZED)
    assert isinstance(info, CallInfo)
    assert info.call_id == "externalCall.abc.123"
    assert info.phone_number == "+79991234567"
    assert (info.line_number, info.line_name) == ("74951234567", "Sales")
    assert (info.crm_entity_type, info.crm_entity_id, info.crm_activity_id) == ("CONTACT", 42, 7)
    assert info.crm_bindings == [CrmBinding("CONTACT", 42)]
    assert (info.direction, info.state, info.call_list_mode) == ("incoming", "connecting", False)
    assert info.raw == INITIALIZED


def test_initialized_with_nothing_known():
    payload = dict(
        INITIALIZED,
        CRM_ENTITY_TYPE="",
        CRM_ENTITY_ID=0,
        CRM_ACTIVITY_ID="",
        CRM_BINDINGS=[],
        LINE_NAME="",
        CALL_LIST_MODE=True,
    )
    del payload["PHONE_NUMBER"]
    (info,) = parse("initialized", payload)
    assert info.phone_number is None
    assert (info.crm_entity_type, info.crm_entity_id, info.crm_activity_id) == (None, None, None)
    assert info.crm_bindings == [] and info.line_name == "" and info.call_list_mode is True


def test_initialized_activity_absent_and_ids_as_digit_strings():
    payload = dict(
        INITIALIZED, CRM_ENTITY_ID="15", CRM_BINDINGS=[{"ENTITY_TYPE": "DEAL", "ENTITY_ID": "3"}]
    )
    del payload["CRM_ACTIVITY_ID"]
    (info,) = parse("initialized", payload)
    assert (info.crm_entity_id, info.crm_activity_id) == (15, None)
    assert info.crm_bindings == [CrmBinding("DEAL", 3)]


@pytest.mark.parametrize(
    "change",
    [
        {"CALL_ID": None},
        {"CALL_ID": ""},
        {"CALL_ID": 5},
        {"PHONE_NUMBER": 79991234567},
        {"CRM_ENTITY_ID": "abc"},
        {"CRM_ENTITY_ID": True},
        {"CRM_ACTIVITY_ID": [1]},
        {"CRM_BINDINGS": "CONTACT"},
        {"CRM_BINDINGS": [42]},
        {"CRM_BINDINGS": [{"ENTITY_TYPE": "LEAD"}]},
        {"CALL_DIRECTION": 1},
        {"CALL_LIST_MODE": "maybe"},
    ],
)
def test_initialized_malformed(change):
    payload = dict(INITIALIZED, **change)
    if change.get("CALL_ID") is None and "CALL_ID" in change:
        del payload["CALL_ID"]
    with pytest.raises(MalformedPayloadError) as caught:
        parse("initialized", payload)
    assert caught.value.event == "initialized"


@pytest.mark.parametrize("payload", [None, "x", [], 5])
def test_initialized_not_an_object(payload):
    with pytest.raises(MalformedPayloadError):
        parse("initialized", payload)


def test_entity_changed():
    raw = {"PHONE_NUMBER": "+7999", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 9}
    (entity,) = parse("entityChanged", raw)
    assert isinstance(entity, Entity)
    assert (entity.phone_number, entity.crm_entity_type, entity.crm_entity_id, entity.raw) == (
        "+7999",
        "LEAD",
        9,
        raw,
    )


def test_entity_changed_unknown_phone_is_none():
    (entity,) = parse(
        "entityChanged", {"PHONE_NUMBER": "unknown", "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": 0}
    )
    assert (entity.phone_number, entity.crm_entity_type, entity.crm_entity_id) == (None, None, None)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "x",
        {"PHONE_NUMBER": "1", "CRM_ENTITY_TYPE": "LEAD"},
        {"PHONE_NUMBER": 1, "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1},
        {"PHONE_NUMBER": "1", "CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": "x"},
    ],
)
def test_entity_changed_malformed(payload):
    with pytest.raises(MalformedPayloadError):
        parse("entityChanged", payload)


def test_transfer_to_an_employee():
    (target,) = parse("transferButtonClick", {"phoneNumber": "+7999", "target": "17"})
    assert isinstance(target, TransferTarget)
    assert (
        target.phone_number,
        target.target,
        target.is_user,
        target.user_id,
        target.is_phone,
    ) == ("+7999", "17", True, 17, False)


def test_transfer_to_a_phone_number():
    (target,) = parse("transferButtonClick", {"phoneNumber": "+7999", "target": "+7 495 000-00-00"})
    assert (target.is_user, target.user_id, target.is_phone) == (False, None, True)


@pytest.mark.parametrize(
    "payload", [None, "17", {"phoneNumber": "+7"}, {"target": ""}, {"target": None}]
)
def test_transfer_malformed(payload):
    with pytest.raises(MalformedPayloadError):
        parse("transferButtonClick", payload)


@pytest.mark.parametrize("payload,rating", [("1", 1), ("5", 5), (3, 3)])
def test_quality_meter(payload, rating):
    assert parse("qualityMeterClick", payload) == (rating,)


@pytest.mark.parametrize("payload", ["0", "6", "10", "", "a", None, 2.5, True])
def test_quality_meter_malformed(payload):
    with pytest.raises(MalformedPayloadError):
        parse("qualityMeterClick", payload)


@pytest.mark.parametrize("key", list("0123456789*#"))
def test_dialpad_keys(key):
    assert parse("dialpadButtonClick", key) == (key,)


@pytest.mark.parametrize("payload", ["", "12", "a", "+", None, {}])
def test_dialpad_malformed(payload):
    with pytest.raises(MalformedPayloadError):
        parse("dialpadButtonClick", payload)


@pytest.mark.parametrize("event", ["muteButtonClick", "holdButtonClick"])
@pytest.mark.parametrize("payload,value", [(True, True), (False, False)])
def test_mute_and_hold_are_bools(event, payload, value):
    assert parse(event, payload) == (value,)


@pytest.mark.parametrize("event", ["muteButtonClick", "holdButtonClick"])
@pytest.mark.parametrize("payload", [None, "yes", 2, {}])
def test_mute_and_hold_malformed(event, payload):
    with pytest.raises(MalformedPayloadError):
        parse(event, payload)


def test_comment_is_the_text():
    assert parse("addCommentButtonClick", "call back tomorrow") == ("call back tomorrow",)


@pytest.mark.parametrize("payload", [None, 5, {"text": "x"}])
def test_comment_malformed(payload):
    with pytest.raises(MalformedPayloadError):
        parse("addCommentButtonClick", payload)


@pytest.mark.parametrize(
    "event",
    [
        "closeButtonClick",
        "cancelTransferButtonClick",
        "completeTransferButtonClick",
        "hangupButtonClick",
        "nextButtonClick",
        "skipButtonClick",
        "answerButtonClick",
        "makeCallButtonClick",
        "notifyAdminButtonClick",
    ],
)
@pytest.mark.parametrize("payload", [None, "", {}, [1], "garbage"])
def test_events_without_payload_give_no_argument(event, payload):
    assert parse(event, payload) == ()
