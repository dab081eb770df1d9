"""Unit tests of frame/main.py in CPython, no browser: each takes milliseconds.

``FakePortal`` plays Bitrix24 (a card that answers commands and fires the events a test clicks,
REST answered as Bitrix24 answers a softphone worker, a clock the test moves, ``softphone``: the
SIP phone without a SIP server, and the caller); ``load_app`` runs main.py over it and returns
main.py's globals.
"""

from pathlib import Path

from bx24_testing.fake import FakePortal, run

MAIN = Path(__file__).resolve().parents[1] / "frame" / "main.py"


def run_app(scenario):
    """Run ``scenario(portal, app)`` over a fresh portal and a fresh run of main.py
    (``bx24_testing.fake.run``: ``asyncio.run`` that also works beside Playwright's tests)."""

    async def main():
        portal = FakePortal()
        app = await portal.load_app(MAIN)
        await scenario(portal, app)

    run(main())


def test_an_answered_call_is_finished_with_its_duration():
    async def scenario(portal, app):
        await portal.settle()  # the SIP phone registers
        portal.softphone.ring("+15550001122")
        await portal.settle()
        assert ("CallCardSetCardTitle", {"title": "Incoming call +15550001122"}) in portal.commands
        portal.click("answer")
        await portal.settle()
        portal.advance(42)
        portal.click("hangup")
        await portal.settle()
        [finish] = portal.rest_calls("telephony.externalcall.finish")
        assert finish["params"]["STATUS_CODE"] == "200"
        assert finish["params"]["DURATION"] == "42"
        assert portal.softphone.said == ["answer the call from +15550001122", "hang up"]

    run_app(scenario)


def test_the_operator_registers_with_their_inner_number_and_password_option():
    async def scenario(portal, app):
        await portal.settle()
        assert portal.softphone.options["uri"] == "sip:101@pbx.example.com"
        assert portal.softphone.options["password"] == "s3cret"
        assert app["softphone"].registration == "registered"

    portal_options = {"sip_password": "s3cret"}

    async def main():
        portal = FakePortal()
        portal.user_options.update(portal_options)
        app = await portal.load_app(MAIN)
        await scenario(portal, app)

    run(main())


def test_the_crm_client_known_before_the_card_is_shown_is_not_overwritten():
    async def scenario(portal, app):
        portal.card_before_answer = False  # the card opens after the registration's answer
        await portal.settle()
        portal.softphone.ring("+15550001122")
        portal.fire(
            "entityChanged",
            {"PHONE_NUMBER": "+15550001122", "CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 7},
        )
        await portal.settle()
        texts = [p["statusText"] for c, p in portal.commands if c == "CallCardSetStatusText"]
        assert texts == ["CRM CONTACT #7"]

    run_app(scenario)


def test_the_line_is_the_one_the_install_page_creates():
    """settings.LINE_NUMBER names a line of bx24.toml's [[application.lines]]."""
    import sys

    from bx24_frame.settings import load

    project = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(project / "frame"))
    try:
        import settings
    finally:
        sys.path.pop(0)
    lines = [line["number"] for line in load(project).app["lines"]]
    assert settings.LINE_NUMBER in lines


def test_a_refused_registration_is_said_on_the_card_of_the_call_in_progress():
    async def scenario(portal, app):
        await portal.settle()
        portal.softphone.ring("+15550001122")
        await portal.settle()
        portal.click("answer")
        await portal.settle()
        portal.softphone.refuse_registration(403)  # a refresh refused mid-call
        await portal.settle()
        portal.softphone.register_again()  # the phone asked again, and the server took it
        await portal.settle()
        texts = [p["statusText"] for c, p in portal.commands if c == "CallCardSetStatusText"]
        assert texts[-2:] == [
            "Softphone offline: the SIP server refused the operator (403)",
            "Talking",
        ]
        assert not portal.rest_calls("telephony.externalcall.finish")  # the call goes on

    run_app(scenario)
