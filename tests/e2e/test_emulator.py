"""/emulator/ served by `bx24 serve --emulator` drives the sample app end to end, the frame
cross-site in it as on a portal (third-party storage blocked, as in this browser context).

The clicks are the operator's, on the emulator's call card; what the card then shows comes
only from the commands the frame's Python sends back.
"""

import pytest
from playwright.sync_api import expect

from bx24_testing.plugin import INTERPRETERS


def stub_card(page):
    return page.evaluate("emulator.call('card')")


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_emulator_runs_the_sample_app(page, frame_server, interpreter):
    page.goto(f"{frame_server.url}emulator/?interpreter={interpreter}")
    expect(page.locator("#frame-status")).to_have_attribute("data-status", "ready", timeout=90_000)
    # (a relay, a frame without Python, would say so here: docs/architecture.md, "Relays")
    expect(page.locator("#frame-status")).to_have_text("frame: ready (its Python)")
    [frame] = [f for f in page.frames if "?emulator" in f.url]
    assert frame.url.startswith(frame_server.url.replace("127.0.0.1", "localhost"))

    page.fill("#softphone-form [name=number]", "+15550001122")
    page.get_by_role("button", name="Ring").click()  # the softphone rings: the app registers
    expect(page.locator("#card-title")).to_have_text("Incoming call +15550001122")
    expect(page.locator("#card-status")).to_contain_text("Line")
    # the softphone's account (once, when the frame leads), then the call; the election's own
    # check of its group (bridge.js, 2 s after the first frame made it) may come at any time
    rest = [
        c
        for c in page.evaluate("emulator.call('restCalls')")
        if c["params"].get("option") != "bx24_frames"
    ]
    assert [c["method"] for c in rest] == [
        "user.current",
        "user.option.get",
        "telephony.externalcall.register",
    ]
    register = rest[2]
    # the card Bitrix24 opened carries the CALL_ID the registration returned
    assert stub_card(page)["call"]["CALL_ID"] == register["answer"]["result"]["CALL_ID"]

    page.click("#card-buttons [data-button=answer]")
    expect(page.locator("#card-status")).to_have_text("Talking")
    assert stub_card(page)["state"] == "connected"

    page.click("#card-buttons [data-button=mute]")
    expect(page.locator("#card-buttons [data-button=mute]")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert stub_card(page)["muted"] is True

    # the softphone's link: a refresh refused mid-call is said on the card, then Talking again
    page.get_by_role("button", name="Refused (403)").click()
    expect(page.locator("#card-status")).to_have_text(
        "Softphone offline: the SIP server refused the operator (403)"
    )
    page.get_by_role("button", name="Registered again").click()
    expect(page.locator("#card-status")).to_have_text("Talking")

    page.click("#card-buttons [data-button=hangup]")
    expect(page.locator("#log")).to_contain_text("CallCardClose")
    assert stub_card(page)["closed"] is True
    expect(page.locator("#log")).to_contain_text("telephony.externalcall.finish")
    # (the election's own check of its group, user.option.get, may come after it)
    [finish] = [
        c
        for c in page.evaluate("emulator.call('restCalls')")
        if c["method"] == "telephony.externalcall.finish"
    ]
    assert finish["params"]["STATUS_CODE"] == "200"
    assert finish["params"]["CALL_ID"] == register["answer"]["result"]["CALL_ID"]


@pytest.mark.parametrize("interpreter", ["micropython"])
def test_emulator_busy_callee_and_a_card_bitrix24_raised(page, frame_server, interpreter):
    """An outgoing card raised by Bitrix24 (click-to-call): the operator clicks Call, the app
    dials; the callee is busy and the call is finished as 486."""
    page.goto(f"{frame_server.url}emulator/?interpreter={interpreter}")
    expect(page.locator("#frame-status")).to_have_attribute("data-status", "ready", timeout=90_000)
    page.select_option("#raise-form [name=CALL_DIRECTION]", "outgoing")
    page.get_by_role("button", name="Raise call").click()
    expect(page.locator("#card-buttons [data-button=makeCall]")).to_be_visible()
    page.click("#card-buttons [data-button=makeCall]")
    expect(page.locator("#log")).to_contain_text("connectingOutgoing")
    page.get_by_role("button", name="Busy").click()
    expect(page.locator("#log")).to_contain_text("telephony.externalcall.finish")
    # (the election's own check of its group, user.option.get, may come after it)
    [finish] = [
        c
        for c in page.evaluate("emulator.call('restCalls')")
        if c["method"] == "telephony.externalcall.finish"
    ]
    assert finish["params"]["STATUS_CODE"] == "486"


def test_emulator_runs_the_install_page_then_the_main_page(page, frame_server):
    """Page → install page: the sample's install page binds the worker in the emulator's
    portal and finishes; the emulator then shows the main page, as a portal does."""
    page.goto(f"{frame_server.url}emulator/?interpreter=micropython")
    page.select_option("#page", "install")
    expect(page.locator("#page")).to_have_value("main", timeout=60_000)  # installFinish
    app = page.frame_locator("#frame").locator("#bx24-app")
    expect(app).to_contain_text("The worker is bound to http://127.0.0.1:", timeout=60_000)
    expect(app).to_contain_text("My softphone")
