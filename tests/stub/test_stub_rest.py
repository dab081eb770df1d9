"""REST through the stub, one test per rule of Bitrix24's real library and portal
(docs/bitrix24.md, "REST through the real library" and "Raising the card"): BX24.callMethod /
callBatch with the library's result object and its quirks, the portal's REST server at the
HTTP level (what the frame's own requests reach), and telephony that opens the card."""

import json

import pytest
from playwright.sync_api import Error as PlaywrightError

from stub_helpers import card, events

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


def calls(page):
    return page.evaluate("BX24Stub.restCalls()")


def fetch(page, method, body):
    """The frame's own request, as the bx24 bridge sends it (token first)."""
    return page.evaluate(
        """async ([m, b]) => {
        const auth = BX24.getAuth();
        try {
            const r = await fetch(`https://${auth.domain}/rest/${m}.json`, {method: 'POST',
                body: 'auth=' + auth.access_token + (b ? '&' + b : '')});
            return {status: r.status, text: await r.text()};
        } catch (error) { return {network: String(error)}; }
    }""",
        [method, body],
    )


# -- the library's result object ---------------------------------------------------------------


def test_a_programmed_result(card_page):
    respond(card_page, "user.current", {"result": {"ID": "1", "NAME": "Ann"}})
    assert rest(card_page, "user.current") == {
        "data": {"ID": "1", "NAME": "Ann"},
        "more": False,
        "total": None,
        "status": 200,
        "description": None,
        "error": None,
    }


def test_a_programmed_error_reaches_the_callback_with_its_4xx_status(card_page):
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "Not found"})
    answer = rest(card_page, "crm.deal.get", {"id": 9})
    assert answer["error"] == {
        "ex": {"error": "NOT_FOUND", "error_description": "Not found"},
        "status": 400,
        "text": "NOT_FOUND: Not found (400)",
    }
    respond(card_page, "crm.deal.get", {"status": 403, "error": "ACCESS_DENIED"})
    assert rest(card_page, "crm.deal.get")["error"]["status"] == 403


def test_an_unknown_method_is_bitrix24s_error_naming_it(card_page):
    answer = rest(card_page, "crm.nothing.get")
    assert answer["error"]["ex"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert "crm.nothing.get" in answer["description"]


def test_method_names_match_without_case(card_page):
    respond(card_page, "crm.Lead.Get", {"result": {"ID": "c1"}})
    assert rest(card_page, "crm.lead.get")["data"] == {"ID": "c1"}


def test_params_are_form_encoded_php_style(card_page):
    respond(card_page, "crm.lead.add", {"result": 1})
    rest(
        card_page,
        "crm.lead.add",
        {
            "fields": {
                "TITLE": "Call back",
                "OPENED": True,
                "CLOSED": False,
                "NONE": None,
                "EMPTY": {},
                "TAGS": [],
                "PHONE": [{"VALUE": "+1", "VALUE_TYPE": "WORK"}],
            },
            "n": 5,
        },
    )
    assert calls(card_page)[0]["params"] == {
        "fields": {
            "TITLE": "Call back",
            "OPENED": "true",
            "CLOSED": "false",
            "TAGS": "",
            "PHONE": {"0": {"VALUE": "+1", "VALUE_TYPE": "WORK"}},
        },
        "n": "5",
    }


def test_start_is_deleted_page_n_only_through_next(card_page):
    respond(card_page, "crm.lead.list", {"items": [{"ID": str(n)} for n in range(120)]})
    again = rest(card_page, "crm.lead.list", {"start": 50, "select": ["ID"]})
    assert again["data"][0] == {"ID": "0"}  # page 1 again: the library dropped start
    assert calls(card_page)[0]["params"] == {"select": {"0": "ID"}}


def test_pages_come_one_after_another_through_next(card_page):
    respond(card_page, "crm.lead.list", {"items": [{"ID": str(n)} for n in range(120)]})
    pages = card_page.evaluate(
        """() => T.rest('crm.lead.list', {select: ['ID']}).then(first => new Promise(resolve => {
               first.next(second => second.next(third => resolve([first, second, third].map(r => ({
                   n: r.data().length, first: r.data()[0].ID, more: r.more(), total: r.total()})))));
           }))"""
    )
    assert pages == [
        {"n": 50, "first": "0", "more": True, "total": 120},
        {"n": 50, "first": "50", "more": True, "total": 120},
        {"n": 20, "first": "100", "more": False, "total": 120},
    ]
    assert [c["params"].get("start") for c in calls(card_page)] == [None, "50", "100"]


def test_next_without_more_pages_is_false(card_page):
    respond(card_page, "user.current", {"result": {}})
    assert card_page.evaluate("T.rest('user.current', {}).then(r => r.next(() => {}))") is False


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503, "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
        {"status": 500, "error": "INTERNAL_SERVER_ERROR"},
        {"status": 502, "body": "<html>Bad gateway</html>"},
        {"status": 200, "body": "not json"},
        {"network": True},
    ],
    ids=["503", "500", "html", "not-json", "network"],
)
def test_5xx_non_json_and_network_failures_never_call_back_the_library_throws(card_page, answer):
    respond(card_page, "crm.lead.list", answer)
    outcome = card_page.evaluate("""() => new Promise(resolve => {
        const thrown = (event) => { event.preventDefault(); resolve({thrown: String(event.message)}); };
        window.addEventListener('error', thrown, {once: true});
        BX24.callMethod('crm.lead.list', {}, () => resolve({calledBack: true}));
    })""")
    # "Query error!" thrown by a script of another origin: the page sees only "Script error."
    assert outcome in ({"thrown": "Uncaught Query error!"}, {"thrown": "Script error."})


def test_an_expired_token_is_refreshed_and_the_call_retried_by_the_library(card_page):
    card_page.evaluate("BX24Stub.configure({auth: {expires_in: Date.now() - 1000}})")
    respond(card_page, "user.current", {"result": {"ID": "7"}})
    assert rest(card_page, "user.current")["data"] == {"ID": "7"}
    assert card_page.evaluate("BX24.getAuth().expires_in > Date.now()")


def test_callback_runs_after_call_method_returns(card_page):
    respond(card_page, "app.info", {"result": {}})
    assert (
        card_page.evaluate(
            "() => { let ran = false; BX24.callMethod('app.info', {}, () => { ran = true; }); return ran; }"
        )
        is False
    )


def test_responses_must_look_like_bitrix_answers(card_page):
    with pytest.raises(PlaywrightError, match="must be"):
        respond(card_page, "user.current", {"ID": 1})


# -- callBatch ---------------------------------------------------------------------------------

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
    results = card_page.evaluate(
        BATCH, [[["user.current", {}], {"method": "crm.deal.get", "params": {"id": 1}}], False]
    )
    assert results == [
        {"data": {"ID": "1"}, "error": None},
        {"data": {}, "error": {"error": "NOT_FOUND", "error_description": "no deal"}},
    ]
    assert [(c["method"], c["params"], c["batch"]) for c in calls(card_page)] == [
        ("user.current", {}, True),
        ("crm.deal.get", {"id": "1"}, True),
    ]


def test_batch_of_an_object_answers_by_key(card_page):
    respond(card_page, "user.current", {"result": {"ID": "1"}})
    respond(card_page, "app.info", {"result": {"CODE": "x"}})
    results = card_page.evaluate(BATCH, [{"me": ["user.current"], "app": ["app.info", {}]}, False])
    assert results == {
        "me": {"data": {"ID": "1"}, "error": None},
        "app": {"data": {"CODE": "x"}, "error": None},
    }


def test_batch_halts_on_the_first_error_when_asked(card_page):
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "no deal"})
    respond(card_page, "user.current", {"result": {"ID": "1"}})
    batch = [["crm.deal.get", {"id": 1}], ["user.current", {}]]
    assert len(card_page.evaluate(BATCH, [batch, True])) == 1
    assert len(card_page.evaluate(BATCH, [batch, False])) == 2


# -- the portal's REST server, at the HTTP level ------------------------------------------------


def test_the_frames_own_requests_get_http_answers(card_page):
    respond(
        card_page,
        "crm.lead.list",
        [
            {"result": [1], "total": 1},
            {
                "status": 503,
                "error": "QUERY_LIMIT_EXCEEDED",
                "error_description": "Too many requests",
            },
            {"status": 502, "body": "<html>Bad gateway</html>"},
            {"network": True},
        ],
    )
    ok, limited, html, down = [fetch(card_page, "crm.lead.list", "a=1") for _ in range(4)]
    assert ok["status"] == 200
    assert {k: v for k, v in json.loads(ok["text"]).items() if k != "time"} == {
        "result": [1],
        "total": 1,
    }
    assert limited["status"] == 503 and "QUERY_LIMIT_EXCEEDED" in limited["text"]
    assert html == {"status": 502, "text": "<html>Bad gateway</html>"}
    assert "Failed to fetch" in down["network"]


def test_a_request_without_the_current_token_is_refused(card_page):
    answer = card_page.evaluate("""async () => {
        const r = await fetch(`https://${BX24.getDomain()}/rest/user.current.json`,
                              {method: 'POST', body: 'auth=stolen'});
        return {status: r.status, body: await r.json()};
    }""")
    assert answer == {
        "status": 401,
        "body": {"error": "invalid_token", "error_description": "Unable to authenticate"},
    }


def test_an_expired_token_is_401_expired_token(card_page):
    card_page.evaluate("BX24Stub.configure({auth: {expires_in: Date.now() - 1000}})")
    answer = card_page.evaluate("""async () => {
        const r = await fetch(`https://${BX24.getDomain()}/rest/user.current.json`,
            {method: 'POST', body: 'auth=' + encodeURIComponent(BX24Stub.auth().access_token)});
        return {status: r.status, body: await r.json()};
    }""")
    assert answer["status"] == 401 and answer["body"]["error"] == "expired_token"


def test_other_urls_are_not_the_stubs_business(card_page):
    with pytest.raises(PlaywrightError):
        card_page.evaluate("fetch('https://elsewhere.example/rest/x.json', {method: 'POST'})")


# -- telephony ---------------------------------------------------------------------------------

REGISTER = "user=1&PHONE_NUMBER=%2B15550001122&TYPE=2&USER_ID=1&LINE_NUMBER=l1"


def test_register_with_show_opens_a_card_whose_initialized_carries_the_call_id(card_page):
    answer = fetch(card_page, "telephony.externalcall.register", REGISTER + "&EXTERNAL_CALL_ID=a")
    call_id = card_page.evaluate(f"JSON.parse({answer['text']!r}).result.CALL_ID")
    card_page.wait_for_function("BX24Stub.card() !== null")
    shown = card(card_page)
    assert shown["call"]["CALL_ID"] == call_id and shown["state"] == "incoming"
    assert shown["call"]["PHONE_NUMBER"] == "+15550001122"
    [initialized] = [e for e in events(card_page) if e["event"].endswith("initialized")]
    assert initialized["payload"]["CALL_ID"] == call_id


def test_register_without_show_opens_nothing(card_page):
    fetch(card_page, "telephony.externalcall.register", REGISTER + "&SHOW=0")
    fetch(card_page, "user.current", "")  # a later answer: the card would have opened by now
    assert card(card_page) is None


def test_registering_the_same_call_again_gives_the_same_call_id(card_page):
    ids = [
        fetch(card_page, "telephony.externalcall.register", REGISTER + "&SHOW=0" + extra)["text"]
        for extra in ("&EXTERNAL_CALL_ID=x", "&EXTERNAL_CALL_ID=x", "&EXTERNAL_CALL_ID=y")
    ]
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize(
    "body, says",
    [
        ("PHONE_NUMBER=1&TYPE=2", "USER_ID or USER_PHONE_INNER should be set"),
        ("USER_ID=1&PHONE_NUMBER=1&TYPE=9", "Unknown TYPE"),
    ],
)
def test_register_checks_what_bitrix24_checks(card_page, body, says):
    answer = fetch(card_page, "telephony.externalcall.register", body)
    assert answer["status"] == 400 and "ERROR_CORE" in answer["text"] and says in answer["text"]


def test_finish_needs_a_registered_call(card_page):
    answer = fetch(card_page, "telephony.externalcall.finish", "CALL_ID=nope&DURATION=3")
    assert answer["status"] == 400 and "Call is not found" in answer["text"]


def test_hide_closes_the_calls_card(card_page):
    answer = fetch(card_page, "telephony.externalcall.register", REGISTER)
    call_id = card_page.evaluate(f"JSON.parse({answer['text']!r}).result.CALL_ID")
    card_page.wait_for_function("BX24Stub.card() !== null")
    fetch(card_page, "telephony.externalcall.hide", f"CALL_ID={call_id}&USER_ID=1")
    assert card(card_page)["closed"] is True


def test_an_empty_200_is_success_without_data_as_the_real_library_reads_it(card_page):
    respond(card_page, "crm.deal.update", {"status": 200, "body": ""})
    answer = rest(card_page, "crm.deal.update", {"id": 1})
    assert (answer["status"], answer["error"], answer["data"]) == (200, None, None)


def test_a_batch_keyed_0_to_n_comes_back_as_phps_lists_and_runs_in_the_bodys_order(card_page):
    respond(card_page, "crm.deal.get", {"error": "NOT_FOUND", "error_description": "no deal"})
    fetch(card_page, "batch", "halt=0&cmd[0]=user.current&cmd[1]=crm.deal.get&cmd[2]=app.info")
    answer = fetch(card_page, "batch", "halt=0&cmd%5B0%5D=user.current&cmd%5B1%5D=app.info")
    parts = json.loads(answer["text"])["result"]
    assert isinstance(parts["result"], list) and parts["result_error"] == []
    backwards = json.loads(
        fetch(card_page, "batch", "cmd[1]=app.info&cmd[0]=user.current")["text"]
    )["result"]["result"]
    assert list(backwards) == ["1", "0"]  # not 0..n-1 in order: an object, in the body's order
    assert [c["method"] for c in card_page.portal.rest_calls() if c["batch"]][-2:] == [
        "app.info",
        "user.current",
    ]
