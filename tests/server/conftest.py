"""The real ``server.py``, run as a child process over a throwaway site, shared per module."""

import pytest

from bx24_server.background import ServerProcess
from server_helpers import SERVER_PY, make_site, server_args


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(site):
    with ServerProcess(server_args(site), script=SERVER_PY) as running:
        yield running
