"""bx24_testing.card.StubCard: waits on conditions and fails saying what did arrive."""

import pytest

from bx24_testing.card import CommandNotSent, StubCard
from bx24_testing.frame import LoadedFrame
from bx24_testing.stub import stub_script


@pytest.fixture
def card(page):
    page.set_content("<!doctype html><title>t</title>")
    page.add_script_tag(content=stub_script(sip_stand_in=False))
    page.wait_for_function("window.BX24Stub && BX24Stub.initialized()")
    return StubCard(LoadedFrame(page))


def send(card, command, params):
    card.page.evaluate("([c, p]) => BX24.placement.call(c, p, () => {})", [command, params])


def test_wait_for_command_matches_params(card):
    card.raise_call()
    send(card, "CallCardSetMute", {"muted": False})
    send(card, "CallCardSetMute", {"muted": True})
    entry = card.wait_for_command("CallCardSetMute", muted=True)
    assert entry["params"] == {"muted": True}
    assert [e["params"]["muted"] for e in card.commands("CallCardSetMute")] == [False, True]


def test_wait_for_command_failure_lists_what_arrived(card):
    send(card, "CallCardSetCardTitle", {"title": "x"})
    with pytest.raises(CommandNotSent) as failure:
        card.wait_for_command("CallCardSetMute", timeout_ms=300, muted=True)
    message = str(failure.value)
    assert 'CallCardSetMute({"muted": true})' in message
    assert "CallCardSetCardTitle" in message and '"title": "x"' in message


def test_click_refusal_is_one_clear_line(card):
    with pytest.raises(AssertionError, match="raise a call first"):
        card.click("mute")
