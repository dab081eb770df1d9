"""The application around the worker, in Chromium on both interpreters: a project made by
`bx24 new`, served by `bx24 serve`, installed in a portal stand-in through its install page
(the worker bound, the line made, installFinish), then the portal loads the bound worker and a
call goes through; the main page binds an unbound worker again and keeps an operator's SIP
password, which the worker's softphone then uses."""

from __future__ import annotations

import json

import pytest

from bx24_frame import scaffold
from bx24_testing.card import StubCard
from bx24_testing.frame import open_portal_page, wait_until
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.portal import portal as stand_in

WORKER = "PAGE_BACKGROUND_WORKER"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project as `bx24 new` makes it, with one application option more."""
    root = scaffold.create(tmp_path_factory.mktemp("app") / "softphone")
    settings = root / "bx24.toml"
    settings.write_text(
        settings.read_text().replace(
            "# [application.options]    # application options to set (app.option.set)\n"
            '# greeting = "Hello"',
            '[application.options]\ngreeting = "Hello"',
        )
    )
    return root


@pytest.fixture(scope="module")
def server(project, serve_project):
    with serve_project(project, project) as running:
        yield running


@pytest.fixture(params=INTERPRETERS)
def interpreter(request):
    return request.param


def admin_of(portal):
    return next(u for u, p in portal.users.items() if p.get("ADMIN"))


def operator_of(portal):
    return next(u for u, p in portal.users.items() if not p.get("ADMIN"))


def worker_bindings(portal):
    return [b for b in portal.bindings if b["placement"] == WORKER]


def test_install_then_the_bound_worker_takes_a_call(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    admin = admin_of(portal)
    view = open_portal_page(page, server.url, portal, user=admin, interpreter=interpreter)
    # installFinish: the portal reloads the page, which now shows the main page
    assert view.app_state("main", 60) in ("shown", "bound")
    assert portal.installed
    query = "" if interpreter == "pyodide" else f"?interpreter={interpreter}"
    [bound] = worker_bindings(portal)
    assert bound["handler"] == server.url + query
    assert bound["options"] == {"errorHandlerUrl": server.url + "error-handler"}
    assert bound["userId"] == 0 and bound["title"] == "Softphone"
    assert portal.lines["line1"]["NAME"] == "Support"
    assert portal.app_options == {"greeting": "Hello"}
    assert [c["method"] for c in portal.rest_calls("placement.bind")] == ["placement.bind"]
    assert view.outside_requests == []

    # the portal loads the bound worker on the same page: a call goes through it
    worker = view.frame("worker")
    card = StubCard(worker)
    card.softphone.ring("+15550001122")
    register = card.wait_for_rest(
        "telephony.externalcall.register",
        PHONE_NUMBER="+15550001122",
        LINE_NUMBER="line1",
        USER_ID=admin,
    )
    call_id = register["answer"]["result"]["CALL_ID"]
    card.click("answer")
    card.wait_for_command("CallCardSetStatusText", statusText="Talking")
    card.click("hangup")
    card.wait_for_rest("telephony.externalcall.finish", CALL_ID=call_id, STATUS_CODE="200")
    assert worker.python_errors() == []


def test_the_install_page_run_again_changes_nothing(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    view = open_portal_page(
        page, server.url, portal, user=admin_of(portal), interpreter=interpreter
    )
    view.app_state("main", 60)
    before = (
        json.dumps(portal.bindings, sort_keys=True),
        dict(portal.lines),
        dict(portal.app_options),
    )
    calls = len(portal.rest_calls())
    # the install page again (an administrator opens the installation path once more)
    portal.app_urls["main"] = portal.app_urls["install"]
    view.reload()
    assert view.app_state("install", 60) == "checked"
    assert "Nothing else to do." in view.text("install")
    after = (
        json.dumps(portal.bindings, sort_keys=True),
        dict(portal.lines),
        dict(portal.app_options),
    )
    assert after == before
    changed = [
        c["method"]
        for c in portal.rest_calls()[calls:]
        if c["method"].endswith((".bind", ".unbind", ".add", ".update", ".set"))
    ]
    assert changed == []


def test_a_binding_elsewhere_is_replaced(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    admin = admin_of(portal)
    portal.call(
        "placement.bind",
        {
            "PLACEMENT": WORKER,
            "HANDLER": "https://old.example.com/w",
            "OPTIONS": {"errorHandlerUrl": "https://old.example.com/e"},
        },
        user=admin,
    )
    view = open_portal_page(page, server.url, portal, user=admin, interpreter=interpreter)
    view.app_state("main", 60)
    [bound] = worker_bindings(portal)
    assert bound["handler"].startswith(server.url)
    [unbind] = portal.rest_calls("placement.unbind")
    assert unbind["params"]["HANDLER"] == "https://old.example.com/w"


def test_an_operator_is_refused_in_words(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    view = open_portal_page(
        page, server.url, portal, user=operator_of(portal), interpreter=interpreter
    )
    # Bitrix24 shows the install page to whoever opens an application that is not installed
    portal.app_urls["main"] = portal.app_urls["install"]
    assert view.app_state("install") == "refused"
    assert "Only an administrator of the portal can install" in view.text("install")
    assert not portal.installed and portal.bindings == []


# Bitrix24's answers to placement.bind, and what the install page must say about each.
BIND_ERRORS = {
    "ACCESS_DENIED": "only an administrator of the portal can bind the worker",
    "WRONG_AUTH_TYPE": "from the application's own pages only",
    "EMPTY_ERROR_HANDLER_URL": "Bitrix24 needs an errorHandlerUrl",
    "ERROR_PLACEMENT_MAX_COUNT": "could not be unbound first",
    "ERROR_WRONG_HANDLER_URL": "dotted host name",
    "ERROR_UNSUPPORTED_PROTOCOL": "only http and https",
    "ERROR_PLACEMENT_NOT_FOUND": "give the application the `placement` scope",
    "insufficient_scope": "lacks a scope",
}


def test_each_bitrix24_error_is_said_in_words(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    view = open_portal_page(
        page, server.url, portal, user=admin_of(portal), interpreter=interpreter
    )
    for code, words in BIND_ERRORS.items():
        portal.respond("placement.bind", {"error": code, "error_description": "as Bitrix24 says"})
        if code != next(iter(BIND_ERRORS)):
            view.reload()
        assert view.app_state("install", 60) == "failed", code
        text = view.text("install")
        assert words in text and f"({code})" in text, text
        assert not portal.installed  # no installFinish after a failure
    portal.respond("placement.bind", {"network": True})
    view.reload()
    assert view.app_state("install", 60) == "failed"
    assert "the portal did not answer" in view.text("install")


def test_the_main_page_binds_an_unbound_worker_again(page, server, interpreter):
    portal = stand_in().new_portal(frame_url=server.url)
    admin = admin_of(portal)
    view = open_portal_page(page, server.url, portal, user=admin, interpreter=interpreter)
    view.app_state("main", 60)
    [first] = worker_bindings(portal)
    portal.overtime()  # Bitrix24's 5-second rule deletes the binding
    assert worker_bindings(portal) == []
    view.reload()
    assert view.app_state("main", 60) == "rebound"
    assert worker_bindings(portal) == [first]
    assert "Bound the worker to" in view.text("main")


def test_an_operator_saves_the_sip_password_the_worker_uses(page, server, interpreter, browser):
    portal = stand_in().new_portal(frame_url=server.url)
    install = open_portal_page(
        page, server.url, portal, user=admin_of(portal), interpreter=interpreter
    )
    install.app_state("main", 60)
    operator = operator_of(portal)
    secret = "Pw-" + interpreter + "-7x9Q"
    context = browser.new_context()
    try:
        # the stand-in SIP server accepts the operator with this password only
        mine = open_portal_page(
            context.new_page(),
            server.url,
            portal,
            user=operator,
            interpreter=interpreter,
            stub_config={"sipPassword": secret},
        )
        assert mine.app_state("main", 60) == "shown"
        main = mine.frame("main")
        assert "No SIP password is saved" in mine.text("main")
        field = main.target.locator("input[type=password]")
        field.fill(secret)
        field.press("Enter")
        main.target.get_by_text("Saved.").wait_for()
        assert field.input_value() == ""  # never written back
        main.target.get_by_role("button", name="Check my phone").click()
        main.target.get_by_text("Your phone registers.").wait_for()
        assert portal.user_options[operator]["sip_password"] == secret
        assert secret not in mine.text("main")
        # the operator's next page: the worker's phone registers with it
        mine.reload()
        worker = mine.frame("worker")
        wait_until(
            worker.page,
            lambda: "[sip stand-in] registered as" in worker.console_text(),
            what="the worker's SIP phone registered",
        )
        assert "wrong password" not in worker.console_text()
        consoles = main.console_text() + worker.console_text()
        assert secret not in consoles
    finally:
        context.close()
    logs = "".join(p.read_text() for p in server_logs(server))
    assert secret not in logs and secret not in server.stdout() + server.stderr()


def server_logs(server):
    from pathlib import Path

    project = Path(server.command[server.command.index("--project") + 1])
    return [p for p in project.rglob("*.jsonl") if p.is_file()]


CLIENT_ID = "local.6a1b2c3d4e5f60.87654321"
CLIENT_SECRET = "e2eSECRETclient0123456789abcdefghijklmn"


def test_with_the_application_server_the_worker_heals_itself(
    page, project, tmp_path, serve_project
):
    """`bx24 serve` with the application's credentials: the install page hands it the
    administrator's tokens and binds the worker with the portal's own errorHandlerUrl and the
    events; Bitrix24's ONAPPINSTALL reaches it after installFinish; when the 5-second rule
    deletes the binding, the server binds it again by itself, and the main page shows what it
    saw; ONAPPUNINSTALL deletes the portal's tokens."""
    import os

    from bx24_server.portalstore import open_store
    from bx24_testing.events import send_overtime

    store = tmp_path / "portals.sqlite3"
    portal = stand_in().new_portal(
        frame_url="http://127.0.0.1/", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    with serve_project(
        project,
        tmp_path,
        "--client-id",
        CLIENT_ID,
        "--oauth-server",
        stand_in().oauth_url,
        "--portal-store",
        store,
        "--rebind-backoff",
        "0.2",
        env=dict(os.environ, BX24_CLIENT_SECRET=CLIENT_SECRET),
    ) as server:
        view = open_portal_page(
            page, server.url, portal, user=admin_of(portal), interpreter="micropython"
        )
        assert view.app_state("main", 60) in ("shown", "bound")
        [bound] = worker_bindings(portal)
        signed = bound["options"]["errorHandlerUrl"]
        assert signed.startswith(f"{server.url}error-handler/{portal.member_id}/")
        assert sorted(h["event"] for h in portal.event_handlers) == [
            "ONAPPINSTALL",
            "ONAPPUNINSTALL",
        ]
        assert {h["handler"] for h in portal.event_handlers} == {server.url + "bx24-events"}
        wait_until(
            page,
            lambda: (
                (open_store(store).portal(portal.member_id) or {}).get("application_token")
                == portal.application_token
            ),
            what="ONAPPINSTALL stored",
        )

        assert send_overtime(portal)[0] == 200  # the binding is deleted, the server told
        wait_until(page, lambda: worker_bindings(portal), what="the server binding it again")
        assert worker_bindings(portal)[0]["options"]["errorHandlerUrl"] == signed

        view.reload()
        view.app_state("main", 60)
        text = view.text("main")
        assert "Bitrix24 unbound the worker 1 time(s)" in text
        assert "the server bound it again" in text

        portal.uninstall()
        wait_until(
            page,
            lambda: open_store(store).portal(portal.member_id) is None,
            what="ONAPPUNINSTALL deleting the portal's data",
        )
    logs = server.stdout() + server.stderr()
    assert CLIENT_SECRET not in logs
    assert not any(t.access in logs for t in portal.tokens.values())
