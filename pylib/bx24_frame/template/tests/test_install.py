"""The application around the worker, in Chromium: an administrator opens it in a portal (the
kit's stand-in), its install page binds the worker and creates the line of bx24.toml's
[application], and the portal then loads that worker on its pages, where a call goes through.
``bx24_portal_page(user=...)`` opens a portal page as that user sees it (user 2 is an
administrator, user 1 an operator)."""

from bx24_testing.card import StubCard


def test_the_install_page_installs_and_the_bound_worker_takes_a_call(bx24_portal_page, bx24_portal):
    portal_page = bx24_portal_page(user=2)
    assert portal_page.app_state("main") in ("shown", "bound")  # installed: the main page
    [worker] = bx24_portal.bindings
    assert worker["placement"] == "PAGE_BACKGROUND_WORKER" and worker["title"] == "Softphone"
    assert bx24_portal.lines["line1"]["NAME"] == "Support"

    frame = portal_page.frame("worker")  # what the portal now loads on its pages
    card = StubCard(frame)
    card.softphone.ring("+15550001122")
    card.wait_for_command("CallCardSetCardTitle", title="Incoming call +15550001122")
    assert frame.python_errors() == []
