"""The kit fails a test whose app registered one physical call twice or finished a call twice
(bx24.calls promises once each), with both records in the message, unless the test says it
means it: in the browser (the plugin) and in CPython (FakePortal)."""

import pytest

from bx24_frame.runtime import CACHE_ENV, cache_root
from bx24_testing.fake import FakePortal, run

pytest_plugins = ["pytester"]
CACHE = str(cache_root())  # read now: pytester moves HOME before the test runs

MAIN = """
import bx24

telephony = bx24.page.telephony()
card = bx24.page.card()


@card.on("initialized")
async def finish_twice(call):
    for _ in range(2):  # the bug: a second finish
        await telephony.finish(call.call_id, 5, bx24.Status.ANSWERED)
    await card.set_title("finished")

card.attach()
"""

TESTS = """
import pytest


def raise_and_finish(card):
    card.raise_call()
    card.wait_for_command("CallCardSetCardTitle", title="finished")


def test_unmarked(bx24_card):
    raise_and_finish(bx24_card)  # its assertions pass, yet the test fails


@pytest.mark.bx24_allow_duplicate_calls
def test_marked(bx24_card):
    raise_and_finish(bx24_card)
"""


def test_a_call_finished_twice_fails_the_browser_test_unless_allowed(pytester, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, CACHE)
    pytester.makefile(".toml", bx24='app = "frame"\n')
    (pytester.path / "frame").mkdir()
    (pytester.path / "frame" / "main.py").write_text(MAIN)
    pytester.makeini("[pytest]\nbx24_interpreters = micropython\n")
    pytester.makepyfile(test_frame=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_unmarked*", "*a call was finished twice*first*then*"]
    )


def test_the_fake_portal_fails_a_second_registration_or_finish():
    import bx24
    from bx24.telephony import INCOMING

    portal = FakePortal()
    telephony = portal.telephony()

    async def twice():
        await telephony.register("+15550001122", INCOMING, external_call_id="x-1")
        await portal.settle()
        await telephony.register("+15550001122", INCOMING, external_call_id="x-1")
        with pytest.raises(AssertionError, match=r"registered twice \(x-1\): first .* then"):
            await portal.settle()
        portal.allow_duplicate_calls = True
        await portal.settle()

    run(twice())

    portal = FakePortal()
    telephony = portal.telephony()

    async def finish_twice():
        registered = await telephony.register("+15550001122", INCOMING)
        for _ in range(2):
            await telephony.finish(registered.call_id, 3, bx24.Status.ANSWERED)
        with pytest.raises(AssertionError, match="finished twice"):
            await portal.settle()

    run(finish_twice())


def test_an_unknown_event_or_button_names_the_known_ones():
    portal = FakePortal()
    with pytest.raises(
        AssertionError, match="unknown event 'muteClick'; events: .*muteButtonClick"
    ):
        portal.fire("muteClick", True)
    with pytest.raises(AssertionError, match="no call card"):
        portal.click("mute")
