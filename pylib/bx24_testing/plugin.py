"""pytest plugin: test a Bitrix24 call-card frame in Chromium, against the BX24 stub.

Fixtures (on top of pytest-playwright's ``page``/``browser``):

``bx24_server``       your project's frame served on a free loopback port (session-wide)
``bx24_interpreter``  ``"pyodide"`` or ``"micropython"``; tests run once per interpreter listed
                      in ``--bx24-interpreters`` / the ``bx24_interpreters`` ini option
``bx24_third_party_storage``  ``"partitioned"`` (the default: Chrome's, incognito included: the
                      frame, cross-site in a portal stand-in, gets storage of its own under
                      that portal's site) or ``"denied"`` (a profile that blocks site data:
                      the frame gets none); tests run once per mode in
                      ``--bx24-third-party-storage`` / ini ``bx24_third_party_storage``
``bx24_page``         the page the frame loads in (pytest-playwright's ``page``, or a page of a
                      profile that denies storage)
``bx24_portal``       the test's portal (:class:`bx24_testing.bitrix24.Portal`): its REST
                      answers, its application, its users; fresh for every test
``bx24_stub_config``  override to configure the stub (``{"mode": "desktop"}``, ``auth``, ...)
``bx24_frame``        your frame loaded the way Bitrix24 loads it (cross-site, by a POST), Python
                      ready; a Python exception left unhandled in it fails the test
``bx24_card``         the call card: ``raise_call()``, ``click()``, ``fire()``,
                      ``wait_for_command()``, ``wait_for_rest()``, ``commands()``,
                      ``rest_calls()``, ``state()``, ``softphone.ring()``...

``--bx24-fake-interpreter=micropython`` (ini ``bx24_fake_interpreter``): the fast tests'
``FakePortal.load_app`` runs the app under the frame's own MicroPython instead of CPython
(:mod:`bx24_testing.micropython`): run them both ways in CI.

The project is pytest's rootdir (or ``--bx24-project`` / ini ``bx24_project``): its
``bx24.toml`` and app folder, served with the runtime ``bx24 setup`` installed. Chromium:
pytest-playwright's launch options, plus Debian's ``chromium`` when it is on PATH and no channel
or executable was chosen (``BX24_CHROMIUM`` to choose; see ``bx24_testing.browser``).
"""

import os
from pathlib import Path

import pytest

from . import browser
from .card import StubCard
from .frame import frame_url, open_frame, open_portal_page
from .portal import ANCESTORS

INTERPRETERS = ("pyodide", "micropython")
STORAGE_MODES = ("partitioned", "denied")
# the names of the modes before Chrome partitioned third-party storage (still accepted)
STORAGE_ALIASES = {"blocked": "denied", "allowed": "partitioned"}


def pytest_addoption(parser):
    group = parser.getgroup("bx24", "Bitrix24 call-card frame")
    group.addoption(
        "--bx24-project", help="folder of the bx24 project under test (default: pytest's rootdir)"
    )
    group.addoption(
        "--bx24-interpreters",
        help="comma-separated interpreters to run frame tests on (pyodide, micropython)",
    )
    group.addoption(
        "--bx24-third-party-storage",
        help="comma-separated: blocked (the default: a portal frame in an incognito window or "
        "with third-party cookies blocked), allowed (a regular profile)",
    )
    group.addoption(
        "--bx24-fake-interpreter",
        choices=("cpython", "micropython"),
        help="where FakePortal.load_app runs the app in the fast tests: cpython (the default) or "
        "micropython (the frame's own, in Node: bx24_testing.micropython)",
    )
    parser.addini("bx24_project", "folder of the bx24 project under test, relative to the rootdir")
    parser.addini("bx24_fake_interpreter", "cpython or micropython (--bx24-fake-interpreter)")
    parser.addini("bx24_interpreters", "interpreters to run frame tests on", type="args")
    parser.addini("bx24_third_party_storage", "storage modes to run frame tests in", type="args")


def _setting(config, name):
    value = config.getoption(f"--{name.replace('_', '-')}") or config.getini(name)
    return value or None


def _choices(config, name, known, default):
    value = _setting(config, name)
    names = value.split(",") if isinstance(value, str) else list(value or [default])
    names = [STORAGE_ALIASES.get(n.strip(), n.strip()) for n in names if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise pytest.UsageError(f"{name}: unknown {unknown}; choose from {', '.join(known)}")
    return names


def pytest_generate_tests(metafunc):
    """Run each frame test once per configured interpreter and storage mode, unless the test
    parametrizes them itself."""
    for fixture, name, known, default in (
        ("bx24_interpreter", "bx24_interpreters", INTERPRETERS, "pyodide"),
        ("bx24_third_party_storage", "bx24_third_party_storage", STORAGE_MODES, "partitioned"),
    ):
        chosen = any(
            marker.args and fixture in marker.args[0]
            for marker in metafunc.definition.iter_markers("parametrize")
        )
        if fixture in metafunc.fixturenames and not chosen:
            metafunc.parametrize(
                fixture,
                _choices(metafunc.config, name, known, default),
                indirect=True,
                scope="session",
            )


class _LaunchArgs:
    """Registered at configure time, after pytest-playwright: its ``browser_type_launch_args``
    is this fixture's argument (``--headed``, ``--slowmo``, ``--browser-channel`` kept), and a
    fixture of the same name in the user's conftest still extends or replaces this one."""

    @pytest.fixture(scope="session")
    @staticmethod
    def browser_type_launch_args(browser_type_launch_args, browser_name):
        return browser.launch_args(browser_type_launch_args, browser_name or "chromium")


def pytest_configure(config):
    config.pluginmanager.register(_LaunchArgs(), "bx24-launch-args")
    fake = _setting(config, "bx24_fake_interpreter")
    if fake:  # read by every FakePortal made without interpreter=
        if fake not in ("cpython", "micropython"):
            raise pytest.UsageError(f"bx24_fake_interpreter: cpython or micropython, not {fake}")
        os.environ["BX24_FAKE_INTERPRETER"] = fake
    config.addinivalue_line(
        "markers",
        "bx24_allow_python_errors: a Python exception in the frame (a handler that "
        "raised) does not fail this test",
    )
    config.addinivalue_line(
        "markers",
        "bx24_allow_duplicate_calls: a call registered or finished twice does not fail this test",
    )


def pytest_runtest_teardown(item):
    """A fake portal's MicroPython (``--bx24-fake-interpreter=micropython``) ends with its test."""
    from .micropython import close_all

    close_all()


def project_dir(config) -> Path:
    return Path(config.rootpath, _setting(config, "bx24_project") or ".")


@pytest.fixture(scope="session")
def bx24_server(pytestconfig, tmp_path_factory):
    """The project's frame, served by bx24's server on a free loopback port."""
    from bx24_frame import integrity, settings
    from bx24_frame.runtime import Runtime, RuntimeMissing
    from bx24_frame.site import FrameSite
    from bx24_server.background import ServerThread
    from bx24_server.config import Config

    try:
        project = settings.load(project_dir(pytestconfig))
        project.check_app()
        site = FrameSite(project, Runtime().require())
        site.build()
        integrity.check(site)
    except (ValueError, RuntimeMissing) as error:
        raise pytest.UsageError(f"bx24: {error}") from None
    logs = tmp_path_factory.mktemp("bx24-server")
    # The project's frame-ancestors, plus the portal stand-in the kit loads the frame from.
    ancestors = Config(frame_ancestors=project.frame_ancestors).frame_ancestors
    config = Config(
        port=0,
        error_log=logs / "placement-errors.jsonl",
        access_log=None,
        frame_ancestors=f"{ancestors} {ANCESTORS}",
    )
    with ServerThread(config, site) as server:
        yield server


@pytest.fixture(scope="session")
def bx24_interpreter(request):
    """The interpreter the frame runs on in this test."""
    return getattr(request, "param", "pyodide")


@pytest.fixture(scope="session")
def bx24_third_party_storage(request):
    """The frame's storage in this test: "partitioned" (Chrome's) or "denied"."""
    return getattr(request, "param", "partitioned")


@pytest.fixture(scope="session")
def _bx24_storage_denied(browser_type, browser_type_launch_args, tmp_path_factory):
    context = browser.denying_storage(
        browser_type, browser_type_launch_args, str(tmp_path_factory.mktemp("bx24-profile"))
    )
    yield context
    context.close()


@pytest.fixture
def bx24_page(request, bx24_third_party_storage):
    """The page the frame loads in, in a context of the test's storage mode."""
    if bx24_third_party_storage == "partitioned":
        yield request.getfixturevalue("page")
        return
    page = request.getfixturevalue("_bx24_storage_denied").new_page()
    yield page
    page.close()


@pytest.fixture
def bx24_portal(bx24_server):
    """The test's Bitrix24 portal (a stand-in of the kit, on loopback): the frame belongs to
    it, its REST answers from it (``respond``, ``rest_calls``), and so do its application
    (``bindings``, ``app_options``, ``user_options``, ``lines``...) and its users."""
    from .portal import portal

    return portal().new_portal(frame_url=bx24_server.url)


@pytest.fixture
def bx24_portal_page(bx24_page, bx24_server, bx24_portal, bx24_interpreter):
    """Opens a page of the test's portal as one of its users sees it, with your application's
    install page (its main page once installed) and the workers it bound:
    ``bx24_portal_page(user=2)`` → a :class:`bx24_testing.frame.PortalPage`
    (``app_state("install")``, ``text("main")``, ``frame("worker")``, ``reload()``)."""

    def open_page(user=2, app=True, stub_config=None):
        return open_portal_page(
            bx24_page,
            bx24_server.url,
            bx24_portal,
            user=user,
            app=app,
            interpreter=bx24_interpreter,
            stub_config=stub_config,
        )

    return open_page


@pytest.fixture
def bx24_clock(bx24_page):
    """Playwright's clock in the frame's page, installed before the frame loads (ask for it
    with ``bx24_card`` or ``bx24_frame``; each interpreter's run gets its own):
    ``bx24_clock.fast_forward(42_000)`` is 42 s of talk."""
    bx24_page.clock.install()
    return bx24_page.clock


@pytest.fixture
def bx24_stub_config():
    """Configuration handed to the BX24 stub before the frame loads; override to change it."""
    return {}


@pytest.fixture
def bx24_frame(request, bx24_page, bx24_server, bx24_interpreter, bx24_stub_config, bx24_portal):
    """Your frame, loaded as Bitrix24 loads it (cross-site, HTTP POST), its Python ready. The
    test fails if the frame asked for anything outside the test server, or if a Python
    exception went unhandled in it (``@pytest.mark.bx24_allow_python_errors`` to allow), or a
    call was registered or finished twice (``bx24_allow_duplicate_calls``)."""
    if "bx24_clock" in request.fixturenames:  # the clock goes in before the frame loads
        request.getfixturevalue("bx24_clock")
    frame = open_frame(
        bx24_page,
        frame_url(bx24_server.url, bx24_interpreter),
        stub_config=bx24_stub_config,
        portal=bx24_portal,
    )
    yield frame
    assert not frame.outside_requests, (
        f"the frame requested URLs outside the test server: {frame.outside_requests}"
    )
    duplicates = bx24_portal.duplicate_calls()
    if duplicates and request.node.get_closest_marker("bx24_allow_duplicate_calls") is None:
        pytest.fail(
            "bx24.calls promises one registration and one finish per call (mark the "
            "test bx24_allow_duplicate_calls if it is expected): " + "; ".join(duplicates),
            pytrace=False,
        )
    errors = frame.python_errors()
    if errors and request.node.get_closest_marker("bx24_allow_python_errors") is None:
        pytest.fail(
            "a Python exception went unhandled in the frame (mark the test "
            "bx24_allow_python_errors if it is expected):\n" + frame.console_text(),
            pytrace=False,
        )


@pytest.fixture
def bx24_card(bx24_frame):
    """The simulated call card of ``bx24_frame``."""
    return StubCard(bx24_frame)
