"""Fixtures for end-to-end tests: the real ``bx24 serve`` in a subprocess, as users run it."""

import contextlib
import sys
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess
from bx24_server.config import DEFAULT_FRAME_ANCESTORS
from bx24_testing.portal import ANCESTORS

ROOT = Path(__file__).resolve().parents[2]
BX24 = [sys.executable, "-m", "bx24_frame"]


def serve(project, logs, *extra, env=None):
    """``bx24 serve`` for ``project``, embeddable by the kit's portal stand-in too."""
    return ServerProcess(
        [
            *BX24,
            "serve",
            "--project",
            project,
            "--access-log",
            "off",
            "--error-log",
            logs / "errors.jsonl",
            "--frame-ancestors",
            f"{DEFAULT_FRAME_ANCESTORS} {ANCESTORS}",
            *extra,
        ],
        env=env,
    )


@pytest.fixture(scope="session")
def serve_project():
    """:func:`serve` (a fixture: test modules cannot import this conftest by name when pytest
    collects several test folders, each with a conftest.py)."""
    return serve


@pytest.fixture(scope="session")
def frame_server(tmp_path_factory):
    """This repository's app (the sample ``bx24 new`` copies), served with the emulator on."""
    with serve(ROOT, tmp_path_factory.mktemp("frame-server"), "--emulator") as server:
        yield server


@pytest.fixture(scope="session")
def make_frame(tmp_path_factory):
    """A project of its own with another ``main.py``: ``modules`` are more files of its app
    folder, ``settings`` its ``bx24.toml``; served by ``bx24 serve`` with ``server_args``."""
    with contextlib.ExitStack() as servers:

        def make(main_py, modules=None, settings=None, server_args=()):
            project = tmp_path_factory.mktemp("project")
            app = project / "frame"
            for name, text in {"main.py": main_py, **(modules or {})}.items():
                (app / name).parent.mkdir(parents=True, exist_ok=True)
                (app / name).write_text(text)
            if settings is not None:
                (project / "bx24.toml").write_text(settings)
            return servers.enter_context(serve(project, project, *server_args))

        yield make


SAMPLE = ROOT / "pylib" / "bx24_frame" / "template" / "frame"
SIP_SERVER = 'SIP_SERVER = "wss://pbx.example.com/ws"'  # the sample's settings.py line
# The sample's phone with its ICE servers an async function: short-lived TURN credentials
# fetched when the phone starts (here from the operator's user option "turn", which a test sets;
# in production: your server).
TURN_FROM_USER_OPTION = """

async def turn_servers():
    import json
    return json.loads((await calls.telephony.rest.call("user.option.get",
                                                        {"option": "turn"})).data)
"""


@pytest.fixture(scope="session")
def make_sample(make_frame):
    """The sample app (what ``bx24 new`` writes), served, its ``settings.py`` changed by
    ``settings`` ({line: new line}, each line checked to be there) and pointed at
    ``sip_server``; with ``turn_from_user_option`` its ICE servers come from
    :data:`TURN_FROM_USER_OPTION`."""

    def make(settings=None, turn_from_user_option=False, sip_server=None):
        settings = dict(settings or {})
        if sip_server is not None:  # its SIP_SERVER that server's URL
            settings[SIP_SERVER] = f'SIP_SERVER = "{sip_server.url}"'
        text = (SAMPLE / "settings.py").read_text()
        for old, new in settings.items():
            assert old in text, old
            text = text.replace(old, new)
        main = (SAMPLE / "main.py").read_text()
        if turn_from_user_option:
            assert "ice_servers=settings.ICE_SERVERS," in main
            main = main.replace("ice_servers=settings.ICE_SERVERS,", "ice_servers=turn_servers,")
            main = main.replace("\n\nsoftphone = ", TURN_FROM_USER_OPTION + "\n\nsoftphone = ", 1)
        return make_frame(main, {"settings.py": text})

    return make


@pytest.fixture(scope="session")
def registered_plain_phone():
    """``with registered_plain_phone(server, user) as phone``: a
    :class:`~bx24_testing.sip.PlainPhone` (baresip) of ``user`` at ``server``, once Kamailio
    has its contact."""
    from bx24_testing.frame import wait_until
    from bx24_testing.sip import PlainPhone

    @contextlib.contextmanager
    def make(server, user):
        with PlainPhone(server, user) as phone:
            wait_until(
                None, lambda: server.contacts(user), what=f"the plain phone {user} registered"
            )
            yield phone

    return make


@pytest.fixture(scope="session")
def edge():
    """A production-shaped SIP edge for the session: Kamailio over WSS + rtpengine, registrations granted
    for 10 s (refreshed every 5 s: refresh tests need not wait long)."""
    from bx24_testing.sip import SipServer

    with SipServer(tls=True, media_relay=True, register_expires=10) as server:
        yield server


@pytest.fixture(scope="session")
def edge_frame_server(make_sample, edge):
    """The sample app pointed at :func:`edge`."""
    return make_sample(sip_server=edge)


@pytest.fixture
def desk(edge, registered_plain_phone):
    """A desk phone (baresip, user 300) at :func:`edge`."""
    with registered_plain_phone(edge, "300") as phone:
        yield phone
