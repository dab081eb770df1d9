"""The plugin fails a test whose frame left a Python exception unhandled, unless the test is
marked ``bx24_allow_python_errors``: a handler that raises is a bug even when the assertions
the test makes still pass."""

from bx24_frame.runtime import CACHE_ENV, cache_root

pytest_plugins = ["pytester"]
CACHE = str(cache_root())  # read now: pytester moves HOME before the test runs

MAIN = """
import bx24

card = bx24.page.card()


@card.on("initialized")
async def show(call):
    await card.set_title("Call")
    raise RuntimeError("boom in a handler")

card.attach()
"""

TESTS = """
import pytest


def raise_and_see_it_fail(card):
    with card.frame.page.expect_console_message(lambda message: "boom" in message.text):
        card.raise_call()
    card.wait_for_command("CallCardSetCardTitle", title="Call", after=0)


def test_unmarked(bx24_card):
    raise_and_see_it_fail(bx24_card)  # its assertions pass, yet the test fails


@pytest.mark.bx24_allow_python_errors
def test_marked(bx24_card):
    raise_and_see_it_fail(bx24_card)
"""


def test_an_unhandled_python_error_fails_the_test_unless_allowed(pytester, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, CACHE)
    pytester.makefile(".toml", bx24='app = "frame"\n')
    (pytester.path / "frame").mkdir()
    (pytester.path / "frame" / "main.py").write_text(MAIN)
    pytester.makeini("[pytest]\nbx24_interpreters = micropython\n")
    pytester.makepyfile(test_frame=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unmarked*",
            "*a Python exception went unhandled in the frame*",
            "*RuntimeError: boom in a handler*",
        ]
    )
