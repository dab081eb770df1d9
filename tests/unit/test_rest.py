"""bx24.rest over the bridge protocol: answers, errors, paging, timeouts, bad input."""

import pytest

from bx24 import PlacementError, Rest, RestError, RestTimeoutError
from fake_bridge import FakeBridge, run


def answer(data):
    return {"status": "answer", "data": data}


@pytest.fixture
def bridge():
    return FakeBridge()


def test_result_and_what_was_sent(bridge):
    bridge.rest_replies["telephony.externalcall.register"] = answer(
        {"result": {"CALL_ID": "externalCall.1"}, "total": None, "more": False, "next": None})
    rest = Rest(bridge, timeout=2.5)
    result = run(rest.call("telephony.externalcall.register", {"PHONE_NUMBER": "+7999", "TYPE": 2}))
    assert result.data == {"CALL_ID": "externalCall.1"}
    assert result.more is False and result.next is None
    assert bridge.rest_sent == [
        ("telephony.externalcall.register", {"PHONE_NUMBER": "+7999", "TYPE": 2}, 2500)]


def test_list_paging(bridge):
    bridge.rest_replies["crm.lead.list"] = answer(
        {"result": [{"ID": "1"}], "total": 120, "more": True, "next": 50})
    result = run(Rest(bridge).call("crm.lead.list"))
    assert (result.total, result.more, result.next) == (120, True, 50)
    assert bridge.rest_sent[0][1] == {}


def test_error_answer_raises_with_code_and_description(bridge):
    bridge.rest_replies["user.current"] = answer(
        {"error": "ACCESS_DENIED", "error_description": "no scope", "status": 401})
    with pytest.raises(RestError) as raised:
        run(Rest(bridge).call("user.current"))
    error = raised.value
    assert (error.method, error.code, error.description) == ("user.current", "ACCESS_DENIED", "no scope")
    assert "user.current failed: ACCESS_DENIED (no scope)" in str(error)


def test_no_answer_is_a_timeout_naming_the_method(bridge):
    bridge.rest_replies["slow.method"] = {"status": "no_answer"}
    with pytest.raises(RestTimeoutError, match="slow.method did not answer within 0.5 s"):
        run(Rest(bridge, timeout=0.5).call("slow.method"))


def test_unavailable_bx24_is_a_placement_error(bridge):
    bridge.rest_replies["x.y"] = {"status": "unavailable", "message": "BX24 is not loaded"}
    with pytest.raises(PlacementError, match="BX24 is not loaded"):
        run(Rest(bridge).call("x.y"))


def test_unknown_answer_shape_is_kept(bridge):
    bridge.rest_replies["x.y"] = answer(["not", "an", "object"])
    with pytest.raises(RestError) as raised:
        run(Rest(bridge).call("x.y"))
    assert raised.value.raw["data"] == ["not", "an", "object"]


@pytest.mark.parametrize("method, params, error", [
    ("", None, ValueError), (None, None, ValueError), ("crm.lead.get", [1], TypeError),
])
def test_bad_arguments_are_refused_before_sending(bridge, method, params, error):
    with pytest.raises(error):
        run(Rest(bridge).call(method, params))
    assert bridge.rest_sent == []
