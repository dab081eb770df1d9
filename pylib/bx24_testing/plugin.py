"""pytest plugin: test a Bitrix24 call-card frame in Chromium, against the BX24 stub.

Fixtures (on top of pytest-playwright's ``page``/``browser``):

``bx24_server``       your frame served by the project's server (session-wide)
``bx24_interpreter``  ``"pyodide"`` or ``"micropython"``; tests run once per interpreter listed
                      in ``--bx24-interpreters`` / the ``bx24_interpreters`` ini option
``bx24_stub_config``  override to configure the stub (``{"mode": "desktop"}``, ``auth``, ...)
``bx24_frame``        a page with your frame loaded the way Bitrix24 loads it, Python ready
``bx24_card``         the call card: ``raise_call()``, ``click()``, ``fire()``,
                      ``wait_for_command()``, ``commands()``, ``state()``

Chromium: Debian's ``chromium`` when on PATH, Playwright's own otherwise, ``BX24_CHROMIUM``
to choose (see ``bx24_testing.browser``).
"""

from pathlib import Path

import pytest

from . import browser
from .card import StubCard
from .frame import frame_url, open_frame

INTERPRETERS = ("pyodide", "micropython")


def pytest_addoption(parser):
    group = parser.getgroup("bx24", "Bitrix24 call-card frame")
    group.addoption("--bx24-frame", help="folder of the frame under test (default: ./frame)")
    group.addoption("--bx24-runtime", help="folder of the pinned runtime (default: ./runtime)")
    group.addoption(
        "--bx24-interpreters",
        help="comma-separated interpreters to run frame tests on (pyodide, micropython)")
    parser.addini("bx24_frame", "folder of the frame under test, relative to the rootdir")
    parser.addini("bx24_runtime", "folder of the pinned runtime, relative to the rootdir")
    parser.addini("bx24_interpreters", "interpreters to run frame tests on", type="args")


def _setting(config, name):
    value = config.getoption(f"--{name.replace('_', '-')}") or config.getini(name)
    return value or None


def _interpreters(config):
    value = _setting(config, "bx24_interpreters")
    names = value.split(",") if isinstance(value, str) else list(value or ["pyodide"])
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in INTERPRETERS]
    if unknown:
        raise pytest.UsageError(
            f"bx24 interpreters: unknown {unknown}; choose from {', '.join(INTERPRETERS)}")
    return names


def pytest_generate_tests(metafunc):
    """Run each frame test once per configured interpreter, unless the test parametrizes it."""
    chosen = any(
        marker.args and "bx24_interpreter" in marker.args[0]
        for marker in metafunc.definition.iter_markers("parametrize"))
    if "bx24_interpreter" in metafunc.fixturenames and not chosen:
        metafunc.parametrize(
            "bx24_interpreter", _interpreters(metafunc.config), indirect=True, scope="session")


class _LaunchArgs:
    """Registered at configure time, after pytest-playwright, so this fixture wins over its
    default; a ``browser_type_launch_args`` fixture in the user's conftest still wins over both."""

    @pytest.fixture(scope="session")
    @classmethod
    def browser_type_launch_args(cls, pytestconfig):
        args = browser.launch_args()
        if pytestconfig.getoption("headed", False):
            args["headless"] = False
        return args


def pytest_configure(config):
    config.pluginmanager.register(_LaunchArgs(), "bx24-launch-args")


@pytest.fixture(scope="session")
def bx24_server(pytestconfig, tmp_path_factory):
    """The frame under test, served by the project's server on a free loopback port."""
    from bx24_server.background import ServerThread
    from bx24_server.config import Config

    root = Path(pytestconfig.rootpath)
    frame_dir = Path(root, _setting(pytestconfig, "bx24_frame") or "frame")
    runtime_dir = Path(root, _setting(pytestconfig, "bx24_runtime") or "runtime")
    for folder, what in ((frame_dir, "frame"), (runtime_dir / "node_modules", "runtime")):
        if not folder.is_dir():
            raise pytest.UsageError(
                f"bx24: no {what} folder at {folder} (set --bx24-{what} or run the set-up)")
    logs = tmp_path_factory.mktemp("bx24-server")
    config = Config(
        repo_dir=root, port=0, frame_dir=frame_dir, runtime_dir=runtime_dir,
        error_log=logs / "placement-errors.jsonl", access_log=None)
    with ServerThread(config) as server:
        yield server


@pytest.fixture(scope="session")
def bx24_interpreter(request):
    """The interpreter the frame runs on in this test."""
    return getattr(request, "param", "pyodide")


@pytest.fixture
def bx24_stub_config():
    """Configuration handed to the BX24 stub before the frame loads; override to change it."""
    return {}


@pytest.fixture
def bx24_frame(page, bx24_server, bx24_interpreter, bx24_stub_config):
    """Your frame, loaded in ``page`` as Bitrix24 loads it (HTTP POST), its Python ready."""
    frame = open_frame(
        page, frame_url(bx24_server.url, bx24_interpreter), stub_config=bx24_stub_config)
    yield frame
    assert not frame.outside_requests, (
        f"the frame requested URLs outside the test server: {frame.outside_requests}")


@pytest.fixture
def bx24_card(bx24_frame):
    """The simulated call card of ``bx24_frame``."""
    return StubCard(bx24_frame)
