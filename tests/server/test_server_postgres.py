"""The application's server with its portals in PostgreSQL (Debian's, started for this module),
two `bx24 serve` processes sharing it as two hosts of one deployment would."""

from __future__ import annotations

import threading

import pytest

from bx24_server.portalstore import open_store
from bx24_testing.events import send_event, send_overtime
from postgres import Postgres
from test_server_application import (
    app_server,
    assert_no_secret,
    install,
    new_portal,
    secrets_of,
    wait_for,
    workers,
)


@pytest.fixture(scope="module")
def database():
    pytest.importorskip(
        "psycopg", reason="the postgres extra (psycopg) is part of the test install"
    )
    with Postgres() as db:
        yield db.url


def test_two_hosts_share_the_portals(site, database):
    bitrix = new_portal()
    backoff = ("--rebind-backoff", "0.2")
    with app_server(site, database, *backoff) as one, app_server(site, database, *backoff) as two:
        handed = install(one, bitrix)
        assert send_event(two.url + "bx24-events", bitrix, "ONAPPINSTALL")[0] == 200
        kept = open_store(database).portal(bitrix.member_id)
        assert kept["application_token"] == bitrix.application_token
        assert kept["worker"]["errorHandlerUrl"] == handed["errorHandlerUrl"]

        # The notice reaches the other host (a load balancer chose it): it knows the portal.
        on_two = handed["errorHandlerUrl"].replace(one.url, two.url)
        bitrix.expire()
        assert send_overtime(bitrix, on_two)[0] == 200
        wait_for(lambda: workers(bitrix), "the worker bound again by the other host")

        # Both hosts get a notice at once with every token expired: both refresh the portal's
        # token; one rotation wins, the other host uses it; the worker is bound once.
        bitrix.expire()
        notice = bitrix.overtime()
        answers = []
        threads = [
            threading.Thread(target=lambda url=url: answers.append(send_overtime_to(url, notice)))
            for url in (handed["errorHandlerUrl"], on_two)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert answers == [200, 200]
        wait_for(lambda: workers(bitrix), "the worker bound again")
        wait_for(
            lambda: len(open_store(database).events(bitrix.member_id, "rebind")) >= 3,
            "both hosts done",
        )
        assert len(workers(bitrix)) == 1
        kept = open_store(database).portal(bitrix.member_id)
        live = [t for t in bitrix.tokens.values() if t.refresh == kept["refresh_token"]]
        assert live, "the stored refresh token is the portal's current one"
        log = one.stderr() + two.stderr()
        assert "cannot refresh" not in log

        # Uninstalled through one host: gone for both.
        assert send_event(two.url + "bx24-events", bitrix, "ONAPPUNINSTALL")[0] == 200
        assert open_store(database).portal(bitrix.member_id) is None
        assert send_overtime_to(handed["errorHandlerUrl"], notice) == 200
        wait_for(lambda: "has no token for it" in one.stderr(), "the unknown portal said")
    assert_no_secret([one.stdout(), one.stderr(), two.stdout(), two.stderr()], secrets_of(bitrix))


def send_overtime_to(url: str, notice: dict) -> int:
    from bx24_testing.events import post_form

    return post_form(url, notice["fields"])[0]


def test_a_store_that_cannot_be_reached_stops_the_server_with_the_reason(site, tmp_path):
    from bx24_server.background import ServerProcess
    from test_server_application import app_command, app_env

    url = f"postgresql://bx24:pw-not-shown@/nothing?host={tmp_path}&port=1"
    with pytest.raises(RuntimeError) as failed:
        with ServerProcess(app_command(site, url), env=app_env(site), startup_timeout=30):
            pass
    text = str(failed.value).split("\nstderr:", 1)[1]  # the command line has the URL
    assert "cannot open the portal store" in text and "pw-not-shown" not in text
