"""The README's path for a project of one's own, run as a new user would, outside this repo:
build the wheel, install it into a fresh virtualenv, ``bx24 new app``, ``bx24 setup`` (into a
fresh cache: npm, the wheels, the snapshot), then the new project's own ``pytest`` on both
interpreters, and ``bx24 serve`` answering Bitrix24's POST."""

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def run(command, cwd, env, timeout=600):
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A virtualenv with the wheel of this repository installed, and a clean environment."""
    tmp = tmp_path_factory.mktemp("user")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp / "dist", ROOT],
        tmp,
        env,
    )
    [wheel] = (tmp / "dist").glob("bx24_callcard-*.whl")
    run([sys.executable, "-m", "venv", tmp / "venv"], tmp, env)
    venv = tmp / "venv" / "bin"
    run(
        [venv / "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[test]"],
        tmp,
        env,
    )
    env.update(PATH=f"{venv}{os.pathsep}{env['PATH']}", BX24_CACHE=str(tmp / "cache"))
    return {"tmp": tmp, "venv": venv, "env": env}


def test_new_setup_and_pytest_in_a_project_of_ones_own(user):
    tmp, venv, env = user["tmp"], user["venv"], user["env"]
    run([venv / "bx24", "new", "app"], tmp, env)
    app = tmp / "app"
    assert sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()) == [
        ".gitignore",
        "README.md",
        "bx24.toml",
        "frame/main.py",
        "frame/main_page.py",
        "frame/settings.py",
        "pytest.ini",
        "tests/test_install.py",
        "tests/test_logic.py",
        "tests/test_main.py",
    ]
    setup = run([venv / "bx24", "setup"], app, env)
    assert "building the Pyodide memory snapshot" in setup.stderr
    again = run([venv / "bx24", "setup"], app, env)  # idempotent: nothing to do the second time
    assert "up to date" in again.stderr and "installing" not in again.stderr
    tests = run([venv / "pytest", "-q", "-p", "no:cacheprovider"], app, env)
    # 7 browser tests x 2 interpreters, 5 CPython ones
    assert re.search(r"^19 passed", tests.stdout, re.M), tests.stdout
    # the fast tests again, the app under the frame's MicroPython (the installed package's)
    fast = [venv / "pytest", "-q", "-p", "no:cacheprovider", "tests/test_logic.py"]
    again = run([*fast, "--bx24-fake-interpreter=micropython"], app, env)
    assert re.search(r"^5 passed", again.stdout, re.M), again.stdout
    with ServerProcess([venv / "bx24", "serve", "--emulator"], cwd=app, env=env) as server:
        request = urllib.request.Request(server.url, data=b"AUTH_ID=x", method="POST")
        with urllib.request.urlopen(request, timeout=10) as page:
            assert b'id="bx24-boot"' in page.read()
        for name in ("install", "main"):  # the application's pages, POSTed by Bitrix24 too
            request = urllib.request.Request(server.url + name, data=b"AUTH_ID=x", method="POST")
            with urllib.request.urlopen(request, timeout=10) as page:
                assert f'"page":"{name}"'.encode() in page.read()
        with urllib.request.urlopen(server.url + "emulator/", timeout=10) as emulator:
            assert emulator.status == 200
    assert "Call-card emulator" in server.stdout()


def test_setup_without_node_says_what_to_install(user, tmp_path):
    env = dict(user["env"], PATH=str(user["venv"]), BX24_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(
        [str(user["venv"] / "bx24"), "setup"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "Node.js 20+ with npm" in line and "apt-get install nodejs npm" in line
