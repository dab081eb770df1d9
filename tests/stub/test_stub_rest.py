"""REST through the stub: callMethod/callBatch answer what a test programmed, with the real
library's result object (data, error, error_description, more, total, next)."""

import pytest
from playwright.sync_api import Error as PlaywrightError

# ajaxResult -> plain data the test can compare.
DESCRIBE = """r => ({
    data: r.data(), more: r.more(), total: Number.isNaN(r.total()) ? null : r.total(),
    status: r.status, description: r.error_description() ?? null,
    error: r.error() ? {
        ex: {error: r.error().ex.error, error_description: r.error().ex.error_description},
        status: r.error().getStatus(), text: String(r.error()),
    } : null,
})"""


def rest(page, method, params=None):
    return page.evaluate(f"([m, p]) => T.rest(m, p).then({DESCRIBE})", [method, params or {}])


def respond(page, method, response):
    page.evaluate("([m, r]) => BX24Stub.respond(m, r)", [method, response])


def test_a_programmed_result(card_page):
    respond(card_page, "user.current", {"result": {"ID": "1", "NAME": "Ann"}})
    answer = rest(card_page, "user.current")
    assert answer == {
        "data": {"ID": "1", "NAME": "Ann"}, "more": False, "total": None,
        "status": 200, "description": None, "error": None,
    }


def test_a_programmed_error(card_page):
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "Not found"})
    answer = rest(card_page, "crm.deal.get", {"id": 9})
    assert answer["error"] == {
        "ex": {"error": "NOT_FOUND", "error_description": "Not found"},
        "status": 400,
        "text": "NOT_FOUND: Not found (400)",
    }
    assert answer["description"] == "Not found"


def test_an_unprogrammed_method_is_an_error_saying_so(card_page):
    answer = rest(card_page, "telephony.externalcall.register", {"PHONE_NUMBER": "+1"})
    assert answer["error"]["ex"]["error"] == "BX24_STUB_NOT_PROGRAMMED"
    assert "telephony.externalcall.register" in answer["description"]


def test_method_names_match_without_case(card_page):
    respond(card_page, "telephony.externalCall.register", {"result": {"CALL_ID": "c1"}})
    assert rest(card_page, "telephony.externalcall.register")["data"] == {"CALL_ID": "c1"}


def test_pages_come_one_after_another_through_next(card_page):
    respond(card_page, "crm.lead.list", [
        {"result": [{"ID": "1"}, {"ID": "2"}], "total": 3, "next": 2},
        {"result": [{"ID": "3"}], "total": 3},
    ])
    pages = card_page.evaluate(
        """() => T.rest('crm.lead.list', {select: ['ID']}).then(first => new Promise(resolve => {
               first.next(second => resolve([first, second].map(r => ({
                   data: r.data(), more: r.more(), total: r.total()}))));
           }))"""
    )
    assert pages == [
        {"data": [{"ID": "1"}, {"ID": "2"}], "more": True, "total": 3},
        {"data": [{"ID": "3"}], "more": False, "total": 3},
    ]
    calls = card_page.evaluate("BX24Stub.restCalls()")
    assert [c["params"] for c in calls] == [{"select": ["ID"]}, {"select": ["ID"], "start": 2}]


def test_next_without_more_pages_is_false(card_page):
    respond(card_page, "user.current", {"result": {}})
    assert card_page.evaluate("T.rest('user.current', {}).then(r => r.next(() => {}))") is False


def test_rest_calls_are_recorded(card_page):
    respond(card_page, "telephony.externalcall.finish", {"result": True})
    rest(card_page, "telephony.externalcall.finish", {"CALL_ID": "c1", "DURATION": 5})
    calls = card_page.evaluate("BX24Stub.restCalls()")
    assert len(calls) == 1
    assert calls[0]["method"] == "telephony.externalcall.finish"
    assert calls[0]["params"] == {"CALL_ID": "c1", "DURATION": 5}
    assert calls[0]["answer"] == {"result": True} and calls[0]["batch"] is False


def test_callback_runs_after_call_method_returns(card_page):
    respond(card_page, "app.info", {"result": {}})
    assert card_page.evaluate(
        "() => { let ran = false; BX24.callMethod('app.info', {}, () => { ran = true; }); return ran; }"
    ) is False


def test_responses_must_look_like_bitrix_answers(card_page):
    with pytest.raises(PlaywrightError, match="must be"):
        respond(card_page, "user.current", {"ID": 1})


BATCH = """([calls, halt]) => T.batch(calls, halt).then(results => {
    const out = Array.isArray(results) ? [] : {};
    for (const key of Object.keys(results)) {
        const r = results[key];
        const ex = r.error() && r.error().getError();
        out[key] = {data: r.data(), error: ex ? {error: ex.error, error_description: ex.error_description} : null};
    }
    return out;
})"""


def test_batch_of_a_list_answers_a_list(card_page):
    respond(card_page, "user.current", {"result": {"ID": "1"}})
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "no deal"})
    results = card_page.evaluate(BATCH, [[["user.current", {}], {"method": "crm.deal.get", "params": {"id": 1}}], False])
    assert results == [
        {"data": {"ID": "1"}, "error": None},
        {"data": {}, "error": {"error": "NOT_FOUND", "error_description": "no deal"}},
    ]


def test_batch_of_an_object_answers_by_key(card_page):
    respond(card_page, "user.current", {"result": {"ID": "1"}})
    respond(card_page, "app.info", {"result": {"CODE": "x"}})
    results = card_page.evaluate(BATCH, [{"me": ["user.current"], "app": ["app.info", {}]}, False])
    assert results == {"me": {"data": {"ID": "1"}, "error": None}, "app": {"data": {"CODE": "x"}, "error": None}}


def test_batch_halts_on_the_first_error_when_asked(card_page):
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "no deal"})
    respond(card_page, "user.current", {"result": {"ID": "1"}})
    calls = [["crm.deal.get", {"id": 1}], ["user.current", {}]]
    assert len(card_page.evaluate(BATCH, [calls, True])) == 1
    assert len(card_page.evaluate(BATCH, [calls, False])) == 2
    assert [c["method"] for c in card_page.evaluate("BX24Stub.restCalls()")] == [
        "crm.deal.get", "crm.deal.get", "user.current",
    ]
