"""The plugin extends pytest-playwright's launch options (never replaces them)."""

import pytest

from bx24_testing import browser

pytest_plugins = ["pytester"]


def test_upstream_options_are_kept_and_the_offline_flags_added_once(monkeypatch):
    monkeypatch.setenv("BX24_CHROMIUM", "/bin/sh")  # any existing file stands for a Chromium
    base = {"headless": False, "slow_mo": 50, "args": ["--mute-audio", "--disable-quic"]}
    args = browser.launch_args(base, "chromium")
    assert args["headless"] is False and args["slow_mo"] == 50
    assert args["args"][:2] == ["--mute-audio", "--disable-quic"]
    assert args["args"].count("--disable-quic") == 1
    assert set(browser.OFFLINE_ARGS) <= set(args["args"])
    assert set(browser.MEDIA_ARGS) <= set(args["args"])  # a softphone in the frame has a mic
    assert args["executable_path"] == "/bin/sh"
    assert base == {"headless": False, "slow_mo": 50, "args": ["--mute-audio", "--disable-quic"]}


@pytest.mark.parametrize("chosen", [{"channel": "chrome"}, {"executable_path": "/opt/chrome"}])
def test_a_channel_or_executable_already_chosen_wins(monkeypatch, chosen):
    monkeypatch.setenv("BX24_CHROMIUM", "/bin/sh")
    args = browser.launch_args(chosen, "chromium")
    assert args.get("executable_path") == chosen.get("executable_path")
    assert args.get("channel") == chosen.get("channel")


def test_other_browsers_are_left_alone():
    assert browser.launch_args({"slow_mo": 5}, "firefox") == {"slow_mo": 5}


def test_slowmo_and_browser_channel_reach_the_browser_through_the_plugin(pytester):
    pytester.makepyfile("""
        def test_args(browser_type_launch_args):
            assert browser_type_launch_args["slow_mo"] == 25
            assert browser_type_launch_args["channel"] == "chrome-beta"
            assert "executable_path" not in browser_type_launch_args
            assert "--disable-background-networking" in browser_type_launch_args["args"]
    """)
    result = pytester.runpytest_subprocess(
        "--slowmo", "25", "--browser-channel", "chrome-beta", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
