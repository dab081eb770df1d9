"""bx24.rest in CPython over the fake portal: answers, pages, batches, every failure, retries."""

import pytest

from bx24 import PlacementError, RestError, RestTimeoutError
from bx24.form import encode, quote
from bx24_testing.fake import FakePortal, decode_form
from fake_bridge import run


@pytest.fixture
def portal():
    return FakePortal()


def call(portal, method, params=None, **options):
    return run(portal.rest(**options).call(method, params))


# -- the form encoding: what Bitrix24's library sends -----------------------------------------


def test_params_are_form_encoded_as_the_library_does():
    body = encode(
        {
            "FIELDS": {
                "TITLE": "Call back",
                "OPENED": True,
                "CLOSED": False,
                "NONE": None,
                "EMPTY": {},
                "TAGS": [],
                "PHONE": [{"VALUE": "+1 555", "VALUE_TYPE": "WORK"}],
            },
            "n": 5,
            "x": 2.0,
            "name": "Ёж & co",
        }
    )
    assert body == (
        "FIELDS[TITLE]=Call%20back&FIELDS[OPENED]=true&FIELDS[CLOSED]=false"
        "&FIELDS[TAGS]=&FIELDS[PHONE][0][VALUE]=%2B1%20555"
        "&FIELDS[PHONE][0][VALUE_TYPE]=WORK&n=5&x=2&name=%D0%81%D0%B6%20%26%20co"
    )
    assert decode_form(body)["FIELDS"]["PHONE"] == {"0": {"VALUE": "+1 555", "VALUE_TYPE": "WORK"}}


def test_quote_is_encode_uri_component():
    assert quote("a-b_c.d!e~f*g'h(i)j k/l?m") == "a-b_c.d!e~f*g'h(i)j%20k%2Fl%3Fm"


def test_params_must_be_a_dict():
    with pytest.raises(TypeError):
        encode(["not", "a", "dict"])


# -- answers -----------------------------------------------------------------------------------


def test_a_result_and_what_was_sent(portal):
    portal.respond("crm.lead.get", {"result": {"ID": "1"}})
    result = call(portal, "crm.lead.get", {"id": 1, "select": ["ID", "TITLE"]})
    assert result.data == {"ID": "1"} and result.status == 200 and not result.more
    assert portal.rest_calls("crm.lead.get")[0]["params"] == {
        "id": "1",
        "select": {"0": "ID", "1": "TITLE"},
    }
    method, body, wait_ms = portal.bridge.rest_sent[0]
    assert (method, wait_ms) == ("crm.lead.get", 10_000) and "auth" not in body


def test_paging_with_next_and_the_list_iterator(portal):
    portal.respond("crm.lead.list", {"items": [{"ID": str(n)} for n in range(120)]})

    async def pages():
        first = await portal.rest().call("crm.lead.list", {"select": ["ID"]})
        second = await first.next()
        third = await second.next()
        return first, second, third, await third.next()

    first, second, third, after = run(pages())
    assert [len(p.data) for p in (first, second, third)] == [50, 50, 20]
    assert (first.total, first.next_start, third.next_start, third.more) == (120, 50, None, False)
    assert after is None
    assert [c["params"].get("start") for c in portal.rest_calls()] == [None, "50", "100"]

    async def everything():
        return [item["ID"] async for item in portal.rest().list("crm.lead.list")]

    assert run(everything()) == [str(n) for n in range(120)]


def test_items_of_a_list_answered_as_a_map(portal):
    portal.respond("tasks.task.list", {"result": {"tasks": [{"id": "1"}, {"id": "2"}]}})

    async def ids():
        return [task["id"] async for task in portal.rest().list("tasks.task.list")]

    assert run(ids()) == ["1", "2"]


def test_bitrix24s_error_answers_raise_with_code_description_and_status(portal):
    portal.respond(
        "user.current", {"error": "ACCESS_DENIED", "error_description": "no scope", "status": 403}
    )
    with pytest.raises(RestError) as raised:
        call(portal, "user.current")
    error = raised.value
    assert (error.method, error.code, error.description, error.status) == (
        "user.current",
        "ACCESS_DENIED",
        "no scope",
        403,
    )
    assert str(error) == "user.current failed: ACCESS_DENIED (HTTP 403): no scope"


@pytest.mark.parametrize(
    "answer, code, status, says",
    [
        ({"status": 500, "error": "INTERNAL_SERVER_ERROR"}, "INTERNAL_SERVER_ERROR", 500, ""),
        (
            {"status": 502, "body": "<html>Bad gateway</html>"},
            None,
            502,
            "not JSON: <html>Bad gateway",
        ),
        ({"status": 200, "body": "garbage"}, None, 200, "not JSON: garbage"),
        ({"network": True}, "NETWORK_ERROR", None, "Failed to fetch"),
    ],
)
def test_5xx_non_json_and_network_failures_raise_at_once(portal, answer, code, status, says):
    portal.respond("crm.lead.list", answer)
    with pytest.raises(RestError) as raised:
        call(portal, "crm.lead.list")
    assert not isinstance(raised.value, RestTimeoutError)
    assert (raised.value.code, raised.value.status) == (code, status)
    assert says in str(raised.value)
    assert len(portal.rest_calls()) == 1  # no retry for these


def test_query_limit_exceeded_is_retried_with_backoff_then_raised(portal):
    limited = {"status": 503, "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many"}
    portal.respond("user.current", [limited, limited, {"result": {"ID": "1"}}])
    assert call(portal, "user.current").data == {"ID": "1"}
    assert portal._sleeps == [1.0, 2.0]
    portal.respond("user.current", limited)
    with pytest.raises(RestError) as raised:
        call(portal, "user.current", retries=2, backoff=0.5)
    assert raised.value.code == "QUERY_LIMIT_EXCEEDED" and raised.value.status == 503
    assert portal._sleeps[2:] == [0.5, 1.0]


def test_an_expired_token_is_refreshed_once_and_the_call_retried(portal):
    portal.respond("user.current", {"result": {"ID": "1"}})
    portal.token_expired = True
    assert call(portal, "user.current").data == {"ID": "1"}
    assert portal.bridge.auth_refreshes == 1
    portal.bridge.rest_replies["user.current"] = {
        "status": "answer",
        "data": {"http": 401, "json": {"error": "expired_token"}},
    }
    with pytest.raises(RestError, match="expired_token"):
        call(portal, "user.current")  # still expired after a refresh: not a loop
    assert portal.bridge.auth_refreshes == 2


def test_no_answer_in_time_is_a_timeout(portal):
    portal.bridge.rest_replies["crm.lead.list"] = {"status": "no_answer"}
    with pytest.raises(RestTimeoutError, match="did not answer within 2.5 s"):
        call(portal, "crm.lead.list", timeout=2.5)


def test_without_bx24_the_error_says_so(portal):
    portal.bridge.rest_replies["crm.lead.list"] = {"status": "unavailable", "message": "no BX24"}
    with pytest.raises(PlacementError, match="no BX24"):
        call(portal, "crm.lead.list")


@pytest.mark.parametrize(
    "method, params, error",
    [("", None, ValueError), (None, None, ValueError), ("user.current", [1], TypeError)],
)
def test_bad_input_is_refused_before_anything_is_sent(portal, method, params, error):
    with pytest.raises(error):
        call(portal, method, params)
    assert portal.bridge.rest_sent == []


# -- batch -------------------------------------------------------------------------------------


def test_a_batch_answers_each_call_by_key(portal):
    portal.respond("crm.deal.get", {"error": "NOT_FOUND", "error_description": "no deal"})
    portal.respond("crm.lead.list", {"items": [{"ID": str(n)} for n in range(60)]})
    out = run(
        portal.rest().batch(
            {
                "me": ("user.current", {}),
                "deal": ("crm.deal.get", {"id": 9}),
                "leads": ("crm.lead.list", {"select": ["ID"]}),
            }
        )
    )
    assert out["me"].data == {
        "ID": "1",
        "NAME": "Operator",
        "LAST_NAME": "Stub",
        "ACTIVE": True,
        "UF_PHONE_INNER": "101",
    }
    assert isinstance(out["deal"], RestError) and out["deal"].code == "NOT_FOUND"
    assert out["leads"].total == 60 and out["leads"].next_start == 50
    [batch] = [c for c in portal.bridge.rest_sent if c[0] == "batch"]
    assert decode_form(batch[1])["cmd"]["deal"] == "crm.deal.get?id=9"
    assert [c["params"] for c in portal.rest_calls("crm.deal.get")] == [{"id": "9"}]


def test_a_list_batch_answers_a_list_and_halt_stops_at_the_first_error(portal):
    portal.respond("crm.deal.get", {"error": "NOT_FOUND"})
    out = run(portal.rest().batch([("crm.deal.get", {"id": 1}), ("user.current", None)], halt=True))
    assert isinstance(out, list) and isinstance(out[0], RestError)
    assert isinstance(out[1], RestError) and "halted" in str(out[1])


@pytest.mark.parametrize("calls", [{}, [("user.current", {})] * 51])
def test_a_batch_holds_1_to_50_calls(portal, calls):
    with pytest.raises(ValueError, match="1 to 50"):
        run(portal.rest().batch(calls))


def test_a_beacon_is_sent_without_waiting(portal):
    portal.rest().beacon("telephony.externalcall.finish", {"CALL_ID": "x", "DURATION": 1})
    assert portal.bridge.beacons == [("telephony.externalcall.finish", "CALL_ID=x&DURATION=1")]
