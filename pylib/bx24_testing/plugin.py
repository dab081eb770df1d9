"""pytest plugin: Chromium selection for pytest-playwright, and the call-card fixtures."""

import pytest

from . import browser


class _LaunchArgs:
    """Registered at configure time, after pytest-playwright, so this fixture wins over its
    default; a ``browser_type_launch_args`` fixture in the user's conftest still wins over both."""

    @pytest.fixture(scope="session")
    def browser_type_launch_args(self, pytestconfig):
        args = browser.launch_args()
        if pytestconfig.getoption("headed", False):
            args["headless"] = False
        return args


def pytest_configure(config):
    config.pluginmanager.register(_LaunchArgs(), "bx24-launch-args")
