"""Spec section 3, timer rules: auto-start on connected, stop elsewhere, resume, the only reset.

The card's clock is advanced with BX24Stub.advanceClock, so no test waits for real seconds.
"""

from stub_helpers import call, card, probe, raise_call


def timer(page):
    return card(page)["timer"]


def advance(page, seconds):
    page.evaluate("ms => BX24Stub.advanceClock(ms)", seconds * 1000)


def set_state(page, state, **extra):
    assert call(page, "CallCardSetUiState", {"uiState": state, **extra}) == []


def test_a_new_card_has_a_stopped_hidden_timer_at_zero(card_page):
    raise_call(card_page)
    assert timer(card_page) == {"running": False, "seconds": 0, "visible": False}


def test_connected_starts_the_timer(card_page):
    raise_call(card_page)
    set_state(card_page, "connected")
    advance(card_page, 5)
    assert timer(card_page) == {"running": True, "seconds": 5, "visible": True}


def test_other_states_stop_it(card_page):
    raise_call(card_page)
    set_state(card_page, "connected")
    advance(card_page, 3)
    set_state(card_page, "transferring")
    advance(card_page, 10)
    assert timer(card_page)["running"] is False
    assert timer(card_page)["seconds"] == 3


def test_start_timer_resumes_without_reset(card_page):
    raise_call(card_page)
    set_state(card_page, "connected")
    advance(card_page, 4)
    probe(card_page, "CallCardStopTimer")
    advance(card_page, 100)
    assert timer(card_page) == {"running": False, "seconds": 4, "visible": True}
    probe(card_page, "CallCardStartTimer")
    advance(card_page, 2)
    assert timer(card_page) == {"running": True, "seconds": 6, "visible": True}


def test_connected_again_resumes_too(card_page):
    raise_call(card_page)
    set_state(card_page, "connected")
    advance(card_page, 4)
    set_state(card_page, "transferFailed")
    set_state(card_page, "connected")
    advance(card_page, 1)
    assert timer(card_page)["seconds"] == 5


def test_connected_without_auto_start_stops_hides_and_resets(card_page):
    raise_call(card_page)
    set_state(card_page, "connected")
    advance(card_page, 7)
    set_state(card_page, "connected", disableAutoStartTimer=True)
    advance(card_page, 3)
    assert timer(card_page) == {"running": False, "seconds": 0, "visible": False}
    probe(card_page, "CallCardStartTimer")
    advance(card_page, 2)
    assert timer(card_page) == {"running": True, "seconds": 2, "visible": True}


def test_start_timer_counts_in_any_state(card_page):
    raise_call(card_page)
    assert probe(card_page, "CallCardStartTimer")["answered"] is False
    advance(card_page, 2)
    assert timer(card_page) == {"running": True, "seconds": 2, "visible": True}
