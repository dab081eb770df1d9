"""The real ``bx24 serve``, run as a child process over a throwaway project, shared per module;
a test certificate."""

import pytest

from bx24_server.background import ServerProcess
from server_helpers import env_for, make_site, serve_command


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(site):
    # Many tests post notices from one address: the shared server lets them (the limit has its
    # own test).
    with ServerProcess(
        serve_command(site, "--emulator", "--notices-per-minute", "100000"), env=env_for(site)
    ) as running:
        yield running


@pytest.fixture(scope="session")
def certificate():
    """A certificate for 127.0.0.1 and its key: the kit's loopback one (bx24_testing.sip)."""
    from bx24_testing.sip import TEST_CERT, TEST_KEY

    return TEST_CERT, TEST_KEY
