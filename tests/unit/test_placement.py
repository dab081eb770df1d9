"""Where the frame runs, its interface, and the clear error outside PAGE_BACKGROUND_WORKER."""

import json

import pytest

from bx24 import PlacementError
from bx24.placement import parse_info
from fake_bridge import run


def test_placement_info(card, bridge):
    info = run(card.placement_info())
    assert info.name == "PAGE_BACKGROUND_WORKER" and info.is_background_worker
    assert info.uri == "/crm/deal/"
    assert info.options == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"}


def test_placement_info_is_asked_once(card, bridge):
    async def scenario():
        await card.placement_info()
        await card.set_title("a")
        await card.set_title("b")

    run(scenario())
    assert len(bridge.info_requests) == 1


def test_options_as_a_json_string_or_php_empty_array():
    assert parse_info({"placement": "X", "options": json.dumps({"URI": "/a/"})}).uri == "/a/"
    assert parse_info({"placement": "X", "options": []}).options == {}


@pytest.mark.parametrize(
    "data",
    [
        None,
        "PAGE_BACKGROUND_WORKER",
        {"placement": "X", "options": "{bad"},
        {"placement": "X", "options": 5},
    ],
)
def test_unreadable_info_is_a_placement_error(data):
    with pytest.raises(PlacementError):
        parse_info(data)


def test_get_interface(card, bridge):
    interface = run(card.get_interface())
    assert interface.commands == ["CallCardSetMute"]
    assert interface.events == ["BackgroundCallCard::initialized"]


def test_commands_outside_the_background_worker_fail_clearly_without_sending(card, bridge):
    bridge.placement = {"placement": "CRM_DEAL_DETAIL_TAB", "options": {}}
    with pytest.raises(PlacementError) as caught:
        run(card.set_mute(True))
    assert "CRM_DEAL_DETAIL_TAB" in str(caught.value) and "PAGE_BACKGROUND_WORKER" in str(
        caught.value
    )
    assert bridge.sent == []


def test_bx24_never_initialised_is_a_clear_error(card, bridge):
    bridge.placement = None
    card.timeout = 1
    with pytest.raises(PlacementError, match="BX24.init"):
        run(card.set_title("x"))
    assert bridge.sent == []


def test_bx24_missing_is_a_clear_error(card, bridge):
    async def unavailable(wait_ms):
        return json.dumps({"status": "unavailable", "message": "BX24 is not loaded"})

    bridge.info = unavailable
    with pytest.raises(PlacementError, match="BX24 is not loaded"):
        run(card.placement_info())
