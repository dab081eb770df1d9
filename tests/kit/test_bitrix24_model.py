"""The kit's one model of Bitrix24 (bx24_testing.bitrix24.Portal), rule by rule: what the BX24
stub's portal, the emulator and the CPython fake all answer from."""

import json

import pytest

from bx24_testing.bitrix24 import DEDUP_SECONDS, Portal, decode_form, php

ADMIN, OPERATOR = 2, 1


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def portal(clock):
    return Portal("acme.bitrix24.com", clock=clock)


def ok(answer):
    assert answer["http"] == 200, answer
    return answer["json"]["result"]


def error(answer):
    body = answer["json"]
    assert "error" in body, answer
    return answer["http"], body["error"], body.get("error_description", "")


# -- the wire -----------------------------------------------------------------------------------


def test_forms_are_read_php_style_in_the_bodys_order():
    assert decode_form("b=1&a[x][0]=y&a[x][1]=z&c[]=p&c[]=q") == {
        "b": "1",
        "a": {"x": {"0": "y", "1": "z"}},
        "c": {"0": "p", "1": "q"},
    }
    assert list(decode_form("cmd[2]=x&cmd[0]=y")["cmd"]) == ["2", "0"]


def test_json_is_phps_arrays_keyed_0_to_n_are_lists():
    assert php({"0": "a", "1": "b"}) == ["a", "b"]
    assert php({}) == []
    assert php({"1": "b", "0": "a"}) == {"1": "b", "0": "a"}  # not in order: an object
    assert php({"0": "a", "2": "c"}) == {"0": "a", "2": "c"}
    assert php({"me": {"0": 1}}) == {"me": [1]}


# -- tokens -------------------------------------------------------------------------------------


def test_a_request_needs_a_current_token(portal, clock):
    assert error(portal.rest("user.current", "auth=stolen")) == (
        401,
        "invalid_token",
        "Unable to authenticate",
    )
    session = portal.open_session(OPERATOR)
    assert ok(portal.rest("user.current", "auth=" + session.token.access))["ID"] == "1"
    clock.now += 3601
    assert error(portal.rest("user.current", "auth=" + session.token.access))[:2] == (
        401,
        "expired_token",
    )
    fresh = portal.refresh_session(session.sid)["AUTH_ID"]
    assert ok(portal.rest("user.current", "auth=" + fresh))["ID"] == "1"


def test_a_frame_gets_its_init_data_from_the_portal(portal):
    portal.set_user_option(OPERATOR, "sip_password", "s3cret")
    portal.set_app_option("line", "l1")
    session = portal.open_session(OPERATOR, options={"URI": "/crm/"})
    data = portal.init_data(session.sid)
    assert data["DOMAIN"] == "acme.bitrix24.com" and data["MEMBER_ID"] == portal.member_id
    assert data["USER_OPTIONS"] == {"sip_password": "s3cret"}
    assert data["APP_OPTIONS"] == {"line": "l1"}
    assert (data["IS_ADMIN"], data["INSTALL"], data["PLACEMENT"]) == (
        False,
        False,
        "PAGE_BACKGROUND_WORKER",
    )
    assert data["PLACEMENT_OPTIONS"] == {"URI": "/crm/"}


# -- batch ----------------------------------------------------------------------------------------


def batch(portal, body, user=OPERATOR):
    token = portal.issue(user)
    return portal.rest("batch", f"auth={token.access}&{body}")["json"]["result"]


def test_a_batch_keyed_0_to_n_answers_lists(portal):
    answer = batch(portal, "halt=0&cmd[0]=user.current&cmd[1]=app.info")
    assert isinstance(answer["result"], list) and answer["result"][0]["ID"] == "1"
    assert answer["result_error"] == [] and answer["result_total"] == []


def test_a_batch_runs_in_the_bodys_order_and_halts_where_asked(portal):
    portal.respond("crm.lead.get", {"error": "NOT_FOUND", "error_description": "no lead"})
    body = "cmd[0]=app.info&cmd[1]=crm.lead.get&cmd[2]=user.current"
    halted = batch(portal, "halt=1&" + body)
    assert halted["result"] == [halted["result"][0]]  # only the first ran
    assert halted["result_error"] == {"1": {"error": "NOT_FOUND", "error_description": "no lead"}}
    kept_going = batch(portal, "halt=0&" + body)
    assert set(kept_going["result"]) == {"0", "2"}  # keys 0 and 2: an object
    assert [c["method"] for c in portal.rest_calls() if c["batch"]] == [
        "app.info",
        "crm.lead.get",
        "app.info",
        "crm.lead.get",
        "user.current",
    ]
    backwards = batch(portal, "halt=0&cmd[2]=user.current&cmd[0]=app.info")
    assert list(backwards["result"]) == ["2", "0"]
    assert [c["method"] for c in portal.rest_calls()][-2:] == ["user.current", "app.info"]


def test_a_batch_holds_fifty_commands_at_most(portal):
    token = portal.issue(OPERATOR)
    body = "&".join(f"cmd[{n}]=app.info" for n in range(51))
    assert (
        error(portal.rest("batch", f"auth={token.access}&{body}"))[1]
        == "ERROR_BATCH_LENGTH_EXCEEDED"
    )


# -- programmed answers ---------------------------------------------------------------------------


def test_programmed_answers_come_in_turn_and_list_methods_page(portal):
    portal.respond(
        "crm.deal.get",
        [
            {"result": 1},
            {"status": 503, "error": "QUERY_LIMIT_EXCEEDED"},
            {"status": 502, "body": "<html>"},
            {"network": True},
        ],
    )
    answers = [portal.call("crm.deal.get") for _ in range(4)]
    assert ok(answers[0]) == 1
    assert error(answers[1])[:2] == (503, "QUERY_LIMIT_EXCEEDED")
    assert answers[2] == {"http": 502, "text": "<html>"}
    assert "network" in answers[3]
    portal.respond("crm.lead.list", {"items": list(range(120))})
    page = portal.call("crm.lead.list", {"start": 100})["json"]
    assert (page["result"], page["total"], "next" in page) == (list(range(100, 120)), 120, False)
    with pytest.raises(ValueError, match="must be"):
        portal.respond("x", {"ID": 1})


def test_an_unknown_method_is_bitrix24s_error_naming_it(portal):
    assert error(portal.call("crm.nothing.get"))[:2] == (404, "ERROR_METHOD_NOT_FOUND")


# -- telephony ------------------------------------------------------------------------------------

REGISTER = {"USER_ID": 1, "PHONE_NUMBER": "+15550001122", "TYPE": 2, "LINE_NUMBER": "l1"}


def test_register_again_within_30_minutes_is_the_same_call(portal, clock):
    first = ok(
        portal.call("telephony.externalcall.register", {**REGISTER, "EXTERNAL_CALL_ID": "x"})
    )
    again = ok(
        portal.call("telephony.externalcall.register", {**REGISTER, "EXTERNAL_CALL_ID": "x"})
    )
    other = ok(
        portal.call("telephony.externalcall.register", {**REGISTER, "EXTERNAL_CALL_ID": "y"})
    )
    assert first["CALL_ID"] == again["CALL_ID"] != other["CALL_ID"]
    clock.now += DEDUP_SECONDS + 1
    later = ok(
        portal.call("telephony.externalcall.register", {**REGISTER, "EXTERNAL_CALL_ID": "x"})
    )
    assert later["CALL_ID"] != first["CALL_ID"]


def test_crm_create_makes_a_lead_for_an_unknown_number(portal):
    plain = ok(portal.call("telephony.externalcall.register", REGISTER))
    assert (plain["CRM_CREATED_LEAD"], plain["CRM_CREATED_ENTITIES"]) == (None, [])
    created = ok(
        portal.call(
            "telephony.externalcall.register",
            {**REGISTER, "CRM_CREATE": 1, "EXTERNAL_CALL_ID": "z"},
        )
    )
    lead = created["CRM_CREATED_LEAD"]
    assert created["CRM_CREATED_ENTITIES"] == [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": lead}]
    assert (created["CRM_ENTITY_TYPE"], created["CRM_ENTITY_ID"]) == ("LEAD", lead)
    assert portal.leads[lead]["PHONE"] == "+15550001122"


def test_finish_writes_the_call_with_its_activity(portal):
    call_id = ok(portal.call("telephony.externalcall.register", REGISTER))["CALL_ID"]
    record = ok(
        portal.call(
            "telephony.externalcall.finish",
            {"CALL_ID": call_id, "USER_ID": 1, "DURATION": 0, "VOTE": 4},
        )
    )
    assert record["CALL_FAILED_CODE"] == "304"  # no duration, no status: missed
    assert record["CALL_VOTE"] == 4 and record["CRM_ACTIVITY_ID"] in portal.activities
    assert error(portal.call("telephony.externalcall.finish", {"CALL_ID": "nope"}))[2] == (
        "Call is not found (call should be registered prior to finishing)"
    )


@pytest.mark.parametrize(
    "params, says",
    [
        ({"PHONE_NUMBER": "1", "TYPE": 2}, "USER_ID or USER_PHONE_INNER should be set"),
        ({"USER_ID": 1, "PHONE_NUMBER": "1", "TYPE": 9}, "Unknown TYPE"),
        ({"USER_ID": 99, "PHONE_NUMBER": "1", "TYPE": 2}, "User is not found or is not active"),
    ],
)
def test_register_checks_what_bitrix24_checks(portal, params, says):
    assert error(portal.call("telephony.externalcall.register", params))[1:] == ("ERROR_CORE", says)


# -- the application --------------------------------------------------------------------------

WORKER = {
    "PLACEMENT": "PAGE_BACKGROUND_WORKER",
    "HANDLER": "https://app.example.com/",
    "OPTIONS": {"errorHandlerUrl": "https://app.example.com/error-handler", "x": "1"},
    "TITLE": "Softphone",
}


def test_placement_bind_is_an_administrators_once_per_scope(portal):
    assert error(portal.call("placement.bind", WORKER, user=OPERATOR))[:2] == (403, "ACCESS_DENIED")
    assert ok(portal.call("placement.bind", WORKER, user=ADMIN)) is True
    assert (
        error(portal.call("placement.bind", WORKER, user=ADMIN))[1] == "ERROR_PLACEMENT_MAX_COUNT"
    )
    assert ok(portal.call("placement.bind", {**WORKER, "USER_ID": 1}, user=ADMIN)) is True
    [everyone, personal] = ok(portal.call("placement.get", user=OPERATOR))
    assert everyone["options"] == {"errorHandlerUrl": WORKER["OPTIONS"]["errorHandlerUrl"]}
    assert (everyone["userId"], personal["userId"], everyone["title"]) == (0, 1, "Softphone")
    assert ok(
        portal.call("placement.unbind", {"PLACEMENT": "PAGE_BACKGROUND_WORKER"}, user=ADMIN)
    ) == {"count": 2}
    assert ok(portal.call("placement.get")) == []


@pytest.mark.parametrize(
    "change, code",
    [
        ({"OPTIONS": {}}, "EMPTY_ERROR_HANDLER_URL"),
        ({"HANDLER": "ftp://app.example.com/"}, "ERROR_UNSUPPORTED_PROTOCOL"),
        ({"HANDLER": "https://localhost/"}, "ERROR_WRONG_HANDLER_URL"),
        ({"PLACEMENT": "NO_SUCH_PLACE"}, "ERROR_PLACEMENT_NOT_FOUND"),
    ],
)
def test_placement_bind_errors(portal, change, code):
    assert error(portal.call("placement.bind", {**WORKER, **change}, user=ADMIN))[1] == code


def test_a_portal_without_the_placement_scope_knows_no_placement():
    portal = Portal(scope=("telephony", "user"))
    assert error(portal.call("placement.bind", WORKER, user=ADMIN))[1] == "insufficient_scope"


def test_external_lines(portal):
    assert ok(portal.call("telephony.externalLine.add", {"NUMBER": "l1", "NAME": "Support"}))["ID"]
    assert (
        error(portal.call("telephony.externalLine.add", {"NUMBER": "l1"}))[2]
        == "Line already exists"
    )
    assert (
        error(portal.call("telephony.externalLine.add", {"NAME": "x"}))[2]
        == "NUMBER should not be empty"
    )
    ok(portal.call("telephony.externalLine.update", {"NUMBER": "l1", "CRM_AUTO_CREATE": "N"}))
    assert ok(portal.call("telephony.externalLine.get")) == [
        {"NUMBER": "l1", "NAME": "Support", "CRM_AUTO_CREATE": "N"}
    ]
    ok(portal.call("telephony.externalLine.delete", {"NUMBER": "l1"}))
    assert ok(portal.call("telephony.externalLine.get")) == []


def test_options(portal):
    assert (
        error(portal.call("app.option.set", {"options": {"a": 1}}, user=OPERATOR))[1]
        == "ACCESS_DENIED"
    )
    ok(portal.call("app.option.set", {"options": {"a": 1}}, user=ADMIN))
    assert ok(portal.call("app.option.get", {"option": "a"})) == "1"
    ok(portal.call("user.option.set", {"options": {"sip_password": "p"}}, user=OPERATOR))
    assert ok(portal.call("user.option.get", {"option": "sip_password"}, user=OPERATOR)) == "p"
    assert ok(portal.call("user.option.get", {"option": "sip_password"}, user=ADMIN)) == ""


def test_install_mode_ends_with_an_administrators_install_finish(portal):
    operator = portal.open_session(OPERATOR, "DEFAULT", install=True)
    assert portal.install_finish(operator.sid) is False and not portal.installed
    admin = portal.open_session(ADMIN, "DEFAULT")
    assert portal.init_data(admin.sid)["INSTALL"] is True
    assert portal.install_finish(admin.sid) is True and portal.installed
    assert ok(portal.call("app.info"))["INSTALLED"] is True
    assert portal.init_data(portal.open_session(ADMIN, "DEFAULT").sid)["INSTALL"] is False


# -- the application's server: OAuth and events ------------------------------------------------


def test_oauth_refresh_rotates_the_refresh_token(portal):
    install = portal.event_bodies("ONAPPINSTALL")
    refresh = install["auth[refresh_token]"]
    query = {
        "grant_type": "refresh_token",
        "client_id": portal.client_id,
        "client_secret": portal.client_secret,
        "refresh_token": refresh,
    }
    fresh = portal.oauth_token(query)["json"]
    assert fresh["refresh_token"] != refresh and fresh["member_id"] == portal.member_id
    assert ok(portal.rest("app.info", "auth=" + fresh["access_token"]))
    assert portal.oauth_token(query)["json"]["error"] == "invalid_grant"  # spent
    assert portal.oauth_token({**query, "client_secret": "x"})["json"]["error"] == "invalid_client"


def test_event_bodies_carry_what_bitrix24_sends(portal):
    install = portal.event_bodies("ONAPPINSTALL")
    assert install["event"] == "ONAPPINSTALL" and install["auth[member_id]"] == portal.member_id
    assert install["auth[application_token]"] == portal.application_token
    assert install["auth[access_token]"] and install["auth[server_endpoint]"]
    uninstall = portal.event_bodies("ONAPPUNINSTALL", clean=1)
    assert "auth[access_token]" not in uninstall and uninstall["data[CLEAN]"] == "1"


def test_the_overtime_notice_deletes_the_worker_and_carries_no_auth(portal):
    ok(portal.call("placement.bind", WORKER, user=ADMIN))
    notice = portal.overtime()
    assert notice["url"] == WORKER["OPTIONS"]["errorHandlerUrl"]
    assert notice["fields"]["error"] == "ERROR_PLACEMENT_LOADING_OVERTIME"
    assert not any("auth" in key for key in notice["fields"])
    assert ok(portal.call("placement.get")) == []
    assert json.dumps(portal.unbound_by_overtime)


class Receiver:
    """An HTTP server on loopback that keeps what is POSTed to it (an application's server)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qsl

        received = self.received = []
        self.arrived = threading.Condition()
        arrived = self.arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with arrived:
                    received.append(dict(parse_qsl(body)))
                    arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count, timeout=5.0):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, timeout), (
                self.received
            )
        return self.received


def test_events_flow_after_install_finish_and_uninstall_sends_its_last(portal):
    receiver = Receiver()
    try:
        for event in ("ONAPPINSTALL", "ONAPPUNINSTALL"):
            ok(portal.call("event.bind", {"event": event, "handler": receiver.url}, user=ADMIN))
        assert receiver.received == []  # nothing is delivered before installFinish
        assert portal.install_finish(portal.open_session(ADMIN, "DEFAULT").sid)
        [installed] = receiver.wait(1)
        assert installed["event"] == "ONAPPINSTALL"
        assert installed["auth[application_token]"] == portal.application_token
        assert installed["auth[refresh_token]"]
        token = portal.application_token
        ok(portal.call("placement.bind", WORKER, user=ADMIN))
        portal.uninstall(clean=True)
        gone = receiver.wait(2)[1]
        assert gone["event"] == "ONAPPUNINSTALL" and gone["data[CLEAN]"] == "1"
        assert gone["auth[application_token]"] == token
        assert "auth[access_token]" not in gone
        assert portal.bindings == [] and portal.event_handlers == [] and not portal.installed
    finally:
        receiver.server.shutdown()


def test_the_oauth_server_says_whose_a_token_is(portal):
    from bx24_testing.portal import PortalHttp

    http = PortalHttp()
    http.add(portal)
    token = portal.open_session(ADMIN, "DEFAULT").token.access
    status, _, body = http.handle(
        "oauth.example", "GET", "/_bx24oauth/rest/app.info?auth=" + token, b""
    )
    info = json.loads(body)["result"]
    assert status == 200 and info["client_id"] == portal.client_id
    assert info["install"]["member_id"] == portal.member_id and info["user_id"] == ADMIN
    status, _, body = http.handle("oauth.example", "GET", "/_bx24oauth/rest/app.info?auth=x", b"")
    assert status == 401 and json.loads(body)["error"] == "invalid_token"
