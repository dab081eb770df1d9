"""The application's server (bx24_server.application), run as `bx24 serve` with the application's
credentials against the kit's portal stand-ins and their OAuth server: Bitrix24's events, the
install page's hand-over, the per-portal errorHandlerUrl and the worker bound again after the
5-second rule deleted it; its store in SQLite (and PostgreSQL: test_server_postgres.py)."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from bx24_server.background import ServerProcess
from bx24_server.portalstore import open_store
from bx24_testing.events import post_form, send_event, send_overtime
from bx24_testing.portal import portal as stand_in
from server_helpers import env_for, request, serve_command

CLIENT_ID = "local.5f0c1a2b3c4d5e.12345678"
CLIENT_SECRET = "Zq9cLIENTsecret0123456789abcdefghijKLMN"
WORKER = "PAGE_BACKGROUND_WORKER"


def app_command(site, store, *extra):
    return serve_command(
        site,
        "--client-id",
        CLIENT_ID,
        "--portal-store",
        store,
        "--oauth-server",
        stand_in().oauth_url,
        *extra,
    )


def app_env(site):
    return dict(env_for(site), BX24_CLIENT_SECRET=CLIENT_SECRET)


def app_server(site, store, *extra) -> ServerProcess:
    return ServerProcess(app_command(site, store, *extra), env=app_env(site))


def new_portal():
    return stand_in().new_portal(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def post_json(url: str, data: dict):
    answer = request(
        url,
        "POST",
        "/" + url.split("/", 3)[3],
        body=json.dumps(data),
        headers={"Content-Type": "application/json"},
    )
    return answer.status, json.loads(answer.text or "null")


def admin(portal) -> int:
    return next(u for u, p in portal.users.items() if p.get("ADMIN"))


def operator(portal) -> int:
    return next(u for u, p in portal.users.items() if not p.get("ADMIN"))


def hand_over(server, portal, user: int | None = None) -> tuple[int, dict]:
    """What the install page does with a server: the admin's tokens (BX24.getAuth()) and the
    worker it binds, for the portal's own errorHandlerUrl."""
    session = portal.open_session(user or admin(portal), placement="DEFAULT")
    auth = portal.auth_of(session.token)
    return post_json(
        server.url + "bx24-install",
        {
            "auth": {
                k: auth[k]
                for k in (
                    "access_token",
                    "refresh_token",
                    "expires_in",
                    "domain",
                    "member_id",
                    "server_endpoint",
                    "client_endpoint",
                )
            },
            "worker": {"handler": server.url + "?worker", "title": "Softphone", "users": [0]},
            "base": server.url,
        },
    )


def install(server, portal) -> dict:
    """The install page's path with a server: hand-over, bind, installFinish, ONAPPINSTALL."""
    status, answer = hand_over(server, portal)
    assert status == 200, answer
    bound = portal.call(
        "placement.bind",
        {
            "PLACEMENT": WORKER,
            "HANDLER": server.url + "?worker",
            "TITLE": "Softphone",
            "OPTIONS": {"errorHandlerUrl": answer["errorHandlerUrl"]},
        },
        user=admin(portal),
    )
    assert bound["json"].get("result") is True, bound
    session = portal.open_session(admin(portal), placement="DEFAULT")
    assert portal.install_finish(session.sid)
    status, text = send_event(server.url + "bx24-events", portal, "ONAPPINSTALL")
    assert status == 200, text
    return answer


def workers(portal) -> list:
    return [b for b in portal.bindings if b["placement"] == WORKER]


def wait_for(condition, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def secrets_of(portal) -> set:
    values = {CLIENT_SECRET, portal.application_token}
    for token in list(portal.tokens.values()):
        values.add(token.access)
        if token.refresh:
            values.add(token.refresh)
    return values


def assert_no_secret(texts, values):
    for value in values:
        for text in texts:
            assert value not in text, "a secret reached a log"


@pytest.fixture
def store(tmp_path):
    return tmp_path / "data" / "portals.sqlite3"


def test_install_then_overtime_rebinds_with_a_refreshed_token(site, store):
    bitrix = new_portal()
    with app_server(site, store, "--rebind-backoff", "0.2") as server:
        handed = install(server, bitrix)
        assert handed["errorHandlerUrl"].startswith(
            server.url + f"error-handler/{bitrix.member_id}/"
        )
        assert handed["eventsUrl"] == server.url + "bx24-events"
        assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(store.parent).st_mode) == 0o700
        kept = open_store(store).portal(bitrix.member_id)
        assert kept["application_token"] == bitrix.application_token
        first_refresh = kept["refresh_token"]
        seen = secrets_of(bitrix)

        bitrix.expire()  # an hour later: every access token has expired
        status, _ = send_overtime(bitrix)
        assert status == 200
        assert not workers(bitrix)
        bound = wait_for(lambda: workers(bitrix), "the worker bound again")
        assert bound[0]["handler"] == server.url + "?worker"
        assert bound[0]["options"] == {"errorHandlerUrl": handed["errorHandlerUrl"]}
        kept = open_store(store).portal(bitrix.member_id)
        assert kept["refresh_token"] != first_refresh  # refreshed, the new one stored
        assert not any(t.refresh == first_refresh for t in bitrix.tokens.values())  # spent
        log = server.stdout() + server.stderr()
        assert "is bound again" in log and "make it load faster" in log
    seen |= secrets_of(bitrix)
    logs = [
        server.stdout(),
        server.stderr(),
        site["error_log"].read_text(),
        site["access_log"].read_text(),
    ]
    assert_no_secret(logs, seen)
    assert bitrix.member_id in site["error_log"].read_text()


def test_a_forged_or_unsigned_notice_is_refused(site, store):
    bitrix, other = new_portal(), new_portal()
    with app_server(site, store) as server:
        handed = install(server, bitrix)
        before = list(bitrix.bindings)
        forged = handed["errorHandlerUrl"][:-4] + "0000"
        for url in (
            forged,
            server.url + f"error-handler/{other.member_id}/" + "0" * 32,
            handed["errorHandlerUrl"].replace(bitrix.member_id, other.member_id),
        ):
            status, text = post_form(url, {"error": "ERROR_PLACEMENT_LOADING_OVERTIME"})
            assert status == 403, text
        assert bitrix.bindings == before  # nothing unbound, nothing bound
        assert bitrix.rest_calls("placement.get") == []  # the server did not even look
        assert "refused a placement error notice" in server.stderr()


def test_a_second_notice_waits_and_the_cap_stops_it(site, store):
    bitrix = new_portal()
    with app_server(site, store, "--rebind-backoff", "0.3", "--rebinds-per-day", "2") as server:
        install(server, bitrix)
        send_overtime(bitrix)
        wait_for(lambda: workers(bitrix), "the first re-binding")
        send_overtime(bitrix)
        wait_for(lambda: workers(bitrix), "the second re-binding")
        assert "(back-off)" in server.stderr()
        send_overtime(bitrix)
        wait_for(lambda: "not binding it again until tomorrow" in server.stderr(), "the cap")
        assert not workers(bitrix)
        assert len(bitrix.rest_calls("placement.bind")) == 3  # the install page's and two
        assert bitrix.member_id in server.stderr()


def test_the_store_outlives_a_restart(site, store):
    bitrix = new_portal()
    with app_server(site, store) as server:
        handed = install(server, bitrix)
        before = server.url
    with app_server(site, store) as server:  # on another port: the notice goes there
        url = handed["errorHandlerUrl"].replace(before, server.url)
        assert send_overtime(bitrix, url)[0] == 200
        wait_for(lambda: workers(bitrix), "the worker bound again after a restart")


def test_onappinstall_alone_is_enough(site, store):
    """The install page could not hand over (no server then): ONAPPINSTALL's tokens and the
    binding as the portal has it are enough to bind the worker again."""
    bitrix = new_portal()
    with app_server(site, store) as server:
        url = server.url + f"error-handler/{bitrix.member_id}/"
        from bx24_server.signing import error_handler_path, signing_key

        signed = server.url + error_handler_path(signing_key(CLIENT_SECRET), bitrix.member_id)
        assert signed.startswith(url)
        bitrix.call(
            "placement.bind",
            {
                "PLACEMENT": WORKER,
                "HANDLER": server.url + "?w",
                "OPTIONS": {"errorHandlerUrl": signed},
            },
            user=admin(bitrix),
        )
        assert send_event(server.url + "bx24-events", bitrix, "ONAPPINSTALL")[0] == 200
        wait_for(
            lambda: (open_store(store).portal(bitrix.member_id) or {}).get("worker"),
            "the binding learned",
        )
        send_overtime(bitrix)
        wait_for(lambda: workers(bitrix), "the worker bound again")


def test_onappuninstall_needs_the_application_token(site, store):
    bitrix = new_portal()
    with app_server(site, store) as server:
        install(server, bitrix)
        events = server.url + "bx24-events"
        wrong = bitrix.event_bodies("ONAPPUNINSTALL")
        wrong["auth[application_token]"] = "0" * 32
        assert post_form(events, wrong)[0] == 403
        assert open_store(store).portal(bitrix.member_id) is not None
        other = bitrix.event_bodies("ONCRMLEADADD", FIELDS_ID=1)
        other["auth[application_token]"] = "f" * 32
        assert post_form(events, other)[0] == 403
        assert "application token does not match" in server.stderr()
        assert send_event(events, bitrix, "ONCRMLEADADD", FIELDS_ID=1)[0] == 200
        status, text = send_event(events, bitrix, "ONAPPUNINSTALL", clean=1)
        assert status == 200 and "forgotten" in text
        kept = open_store(store)
        assert kept.portal(bitrix.member_id) is None
        assert kept.events(bitrix.member_id, "notice") == []
        assert bitrix.application_token not in server.stdout() + server.stderr()


def test_onappinstall_with_a_token_the_oauth_server_does_not_vouch_for(site, store):
    bitrix = new_portal()
    with app_server(site, store) as server:
        fields = bitrix.event_bodies("ONAPPINSTALL")
        fields["auth[access_token]"] = "not-a-token-of-this-portal"
        status, text = post_form(server.url + "bx24-events", fields)
        assert status == 401, text
        assert open_store(store).portal(bitrix.member_id) is None


def test_the_hand_over_is_for_administrators_of_this_application(site, store):
    bitrix = new_portal()
    stranger = stand_in().new_portal()  # another application (its own client_id)
    with app_server(site, store) as server:
        status, answer = hand_over(server, bitrix, user=operator(bitrix))
        assert status == 403 and "administrator" in answer["error"]
        status, answer = hand_over(server, stranger)
        assert status == 403 and "another application" in answer["error"]
        assert open_store(store).portal(bitrix.member_id) is None


def test_the_main_page_sees_its_portals_notices_only(site, store):
    bitrix, other = new_portal(), new_portal()
    with app_server(site, store) as server:
        install(server, bitrix)
        install(server, other)
        send_overtime(bitrix)
        wait_for(lambda: workers(bitrix), "the re-binding")

        def status_as(portal, user=None, member=None):
            auth = portal.auth_of(
                portal.open_session(user or admin(portal), placement="DEFAULT").token
            )
            return post_json(
                server.url + "bx24-portal",
                {
                    "auth": {
                        "access_token": auth["access_token"],
                        "member_id": member or portal.member_id,
                    }
                },
            )

        status, seen = wait_for(
            lambda: (lambda r: r if r[1].get("rebinds") else None)(status_as(bitrix)),
            "the re-binding recorded",
        )
        assert status == 200 and seen["known"]
        assert seen["notices"][0]["fields"]["error"] == "ERROR_PLACEMENT_LOADING_OVERTIME"
        assert seen["rebinds"][0]["outcome"] == "bound"
        assert status_as(other)[1]["notices"] == []
        assert status_as(other, member=bitrix.member_id)[0] == 403  # another portal's token
        assert status_as(bitrix, user=operator(bitrix))[0] == 403


def test_without_credentials_the_application_endpoints_are_not_there(server):
    for name in ("bx24-events", "bx24-install", "bx24-portal", "error-handler/abc/def"):
        answer = request(server.url, "POST", "/" + name, body="{}")
        assert answer.status == 404, name
