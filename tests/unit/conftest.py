"""Fixtures of the bx24 unit tests: a fake bridge, a log, a card over both."""

import pytest

from bx24 import CallCard
from fake_bridge import FakeBridge


@pytest.fixture
def bridge():
    return FakeBridge()


@pytest.fixture
def logs():
    return []


@pytest.fixture
def card(bridge, logs):
    return CallCard(bridge, log=logs.append)
