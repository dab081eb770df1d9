"""The install page and the main page (bx24.install, bx24.mainpage) in CPython, over the kit's
model of Bitrix24 (FakePortal.app_page): what the browser tests do not reach cheaply, each path
of theirs (per-user bindings, lines to update, options that differ, the app's server refusing,
the project's own step, the microphone's answers)."""

from __future__ import annotations

import pytest

import bx24.install
import bx24.mainpage
from bx24_testing.fake import FakePortal, run

WORKER = "PAGE_BACKGROUND_WORKER"
ADMIN = 2  # the model's administrator
OPERATOR = 1


def workers(portal):
    return [b for b in portal.model.bindings if b["placement"] == WORKER]


def install(portal, settings=None, step=None, **page_options):
    page = portal.app_page("install", settings, **page_options)
    outcome = run(bx24.install.run(page, step))
    return outcome, page


def test_a_first_install_binds_makes_lines_sets_options_and_finishes():
    portal = FakePortal(user_id=ADMIN)
    outcome, page = install(
        portal,
        {
            "title": "Phone",
            "lang_all": {"de": {"TITLE": "Telefon"}},
            "lines": [{"number": "100", "name": "Sales", "crm_auto_create": False}],
            "options": {"greeting": "Hi", "limit": 5},
        },
    )
    assert outcome == "finished" and page.bridge.state == "finished"
    assert page.bridge.finished and portal.model.installed
    [bound] = workers(portal)
    assert bound["handler"] == "https://app.example.com/"
    assert bound["options"] == {"errorHandlerUrl": "https://app.example.com/error-handler"}
    assert bound["title"] == "Phone" and bound["langAll"] == {"de": {"TITLE": "Telefon"}}
    assert portal.model.lines["100"] == {
        "ID": portal.model.lines["100"]["ID"],
        "NUMBER": "100",
        "NAME": "Sales",
        "CRM_AUTO_CREATE": "N",
    }
    assert portal.model.app_options == {"greeting": "Hi", "limit": "5"}
    assert "No application server answers here" in page.view.text()


def test_run_again_it_only_checks_and_fixes_what_differs():
    portal = FakePortal(user_id=ADMIN)
    settings = {"lines": [{"number": "100", "name": "Sales"}], "options": {"greeting": "Hi"}}
    install(portal, settings)
    calls = len(portal.model.rest_calls())
    outcome, page = install(portal, settings)
    assert outcome == "checked" and not page.bridge.finished
    writes = [
        c["method"]
        for c in portal.model.rest_calls()[calls:]
        if c["method"].split(".")[-1] in ("bind", "unbind", "add", "update", "set")
    ]
    assert writes == []
    # the settings changed: the line's name and one option follow, nothing else
    settings = {"lines": [{"number": "100", "name": "Support"}], "options": {"greeting": "Hello"}}
    calls = len(portal.model.rest_calls())
    outcome, page = install(portal, settings)
    writes = [
        c["method"]
        for c in portal.model.rest_calls()[calls:]
        if c["method"].split(".")[-1] in ("bind", "unbind", "add", "update", "set")
    ]
    assert writes == ["telephony.externalLine.update", "app.option.set"]
    assert portal.model.lines["100"]["NAME"] == "Support"
    assert "Updated the line 100 (Support)." in page.view.text()


def test_per_user_bindings_replace_the_one_for_everyone():
    portal = FakePortal(user_id=ADMIN)
    install(portal)
    assert [b["userId"] for b in workers(portal)] == [0]
    outcome, page = install(portal, {"users": [7, 3]})
    assert sorted(b["userId"] for b in workers(portal)) == [3, 7]
    assert "Unbound the worker at https://app.example.com/ (for every user)." in page.view.text()
    binds = portal.model.rest_calls("placement.bind")[-2:]
    assert [c["params"]["USER_ID"] for c in binds] == ["3", "7"]


def test_the_worker_url_keeps_the_pages_interpreter_not_bitrix24s_parameters():
    portal = FakePortal(user_id=ADMIN)
    install(
        portal,
        url="https://app.example.com/softphone/install?interpreter=micropython&"
        "DOMAIN=x.bitrix24.com&PROTOCOL=1&LANG=en&APP_SID=abc",
    )
    [bound] = workers(portal)
    assert bound["handler"] == "https://app.example.com/softphone/?interpreter=micropython"
    assert bound["options"]["errorHandlerUrl"] == "https://app.example.com/softphone/error-handler"


def test_the_settings_urls_win():
    portal = FakePortal(user_id=ADMIN)
    install(
        portal,
        {
            "worker_url": "https://cdn.example.com/w/",
            "error_handler_url": "https://api.example.com/errors",
        },
    )
    [bound] = workers(portal)
    assert bound["handler"] == "https://cdn.example.com/w/"
    assert bound["options"]["errorHandlerUrl"] == "https://api.example.com/errors"


def test_with_a_server_the_tokens_go_there_and_its_urls_are_used():
    portal = FakePortal(user_id=ADMIN)
    seen = []

    def server(path, payload):
        seen.append((path, payload))
        return 200, {
            "errorHandlerUrl": "https://app.example.com/error-handler/m/sig",
            "eventsUrl": "https://app.example.com/bx24-events",
        }

    outcome, page = install(portal, {"title": "Phone"}, server=server)
    assert outcome == "finished"
    [(path, payload)] = seen
    assert path == "bx24-install"
    assert payload["base"] == "https://app.example.com/"
    assert payload["worker"] == {
        "handler": "https://app.example.com/",
        "title": "Phone",
        "description": "",
        "lang_all": {},
        "users": [0],
    }
    [bound] = workers(portal)
    assert bound["options"]["errorHandlerUrl"] == "https://app.example.com/error-handler/m/sig"
    assert sorted(h["event"] for h in portal.model.event_handlers) == [
        "ONAPPINSTALL",
        "ONAPPUNINSTALL",
    ]


def test_a_server_that_refuses_stops_the_install_before_installfinish():
    portal = FakePortal(user_id=ADMIN)
    outcome, page = install(
        portal,
        server=lambda path, payload: (
            403,
            {"error": "only an administrator of the portal may do this"},
        ),
    )
    assert outcome == "failed" and not page.bridge.finished
    assert "the application's server refused (403): only an administrator" in page.view.text()
    assert workers(portal) == []


def test_the_projects_step_runs_before_installfinish_and_can_stop_it():
    portal = FakePortal(user_id=ADMIN)
    order = []

    async def step(page):
        order.append(("step", page.bridge.finished))
        await page.rest.call("app.option.set", {"options": {"mine": "1"}})

    outcome, page = install(portal, step=step)
    assert outcome == "finished" and order == [("step", False)]
    assert portal.model.app_options["mine"] == "1"

    portal = FakePortal(user_id=ADMIN)

    async def refuse(page):
        raise bx24.install.InstallRefused("the CRM has no pipeline 'Calls': create it first")

    outcome, page = install(portal, step=refuse)
    assert outcome == "failed" and not page.bridge.finished
    assert "create it first" in page.view.text()


def test_an_operator_is_refused():
    portal = FakePortal(user_id=OPERATOR)
    outcome, page = install(portal)
    assert outcome == "refused" and page.bridge.state == "refused"
    assert portal.model.rest_calls() == []


def main_page(portal, **options):
    page = portal.app_page("main", url="https://app.example.com/main", **options)
    outcome = run(bx24.mainpage.run(page))
    return outcome, page


def test_the_main_page_binds_the_worker_again_for_an_admin_only():
    portal = FakePortal(user_id=ADMIN)
    install(portal)
    portal.model.overtime()
    operator = FakePortal(user_id=OPERATOR, model=portal.model)
    outcome, page = main_page(operator)
    assert outcome == "shown" and workers(portal) == []
    assert "The worker" not in [s["title"] for s in page.view.sections]
    outcome, page = main_page(portal)
    assert outcome == "rebound" and len(workers(portal)) == 1
    outcome, page = main_page(portal)
    assert outcome == "bound"
    run(page.view.click("Bind the worker again"))  # nothing to do: nothing done
    assert len(portal.model.rest_calls("placement.bind")) == 2


def test_the_sip_password_is_kept_and_never_shown():
    portal = FakePortal(user_id=OPERATOR)
    outcome, page = main_page(portal)
    assert "No SIP password is saved" in page.view.text()
    assert run(page.view.save_password("SIP password", "  ")) is False
    assert "An empty SIP password is not saved." in page.view.text()
    assert run(page.view.save_password("SIP password", "s3cret!")) is True
    assert portal.user_options == {bx24.SIP_PASSWORD_OPTION: "s3cret!"}
    assert "s3cret" not in page.view.text()
    outcome, page = main_page(portal)
    assert "A SIP password is saved." in page.view.text()


@pytest.mark.parametrize(
    "answer, words",
    [
        ({"ok": True, "label": "USB mic"}, "The microphone works (USB mic)."),
        ({"error": "NotAllowedError", "message": "Permission denied"}, "blocks the microphone"),
        ({"error": "NotFoundError", "message": ""}, "finds no microphone"),
        ({"error": "AbortError", "message": "odd"}, "The microphone does not work: odd"),
    ],
)
def test_the_microphone_check_says_what_happened(answer, words):
    portal = FakePortal(user_id=OPERATOR)
    outcome, page = main_page(portal, microphone=answer)
    run(page.view.click("Check my microphone"))
    assert words in page.view.text()


def test_the_phone_check_says_whether_it_registers():
    portal = FakePortal(user_id=OPERATOR)
    page = portal.app_page("main")

    class Phone:
        registration = None
        registration_problem = None

        def __init__(self, state, problem=None):
            self.state, self.problem, self.hooks, self.stopped = state, problem, [], False

        def on_registration(self, fn):
            self.hooks.append(fn)

        def start(self):
            self.registration, self.registration_problem = self.state, self.problem
            for fn in self.hooks:
                fn(self)

        def stop(self):
            self.stopped = True

    phones = [
        Phone("registered"),
        Phone(
            "failed",
            "Softphone offline: the SIP server did not accept the operator's SIP password (401)",
        ),
    ]
    section = page.view.section("My phone")
    bx24.mainpage.phone_check(section, lambda: phones[0])
    run(page.view.click("Check my phone"))
    assert "Your phone registers." in page.view.text() and phones[0].stopped
    page.view.clear()
    section = page.view.section("My phone")
    bx24.mainpage.phone_check(section, lambda: phones[1])
    run(page.view.click("Check my phone"))
    assert "did not accept the operator's SIP password" in page.view.text() and phones[1].stopped
