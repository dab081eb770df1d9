"""The ``bx24`` command's help and its errors: each says what to do."""

import subprocess
import sys

import pytest

BX24 = [sys.executable, "-m", "bx24_frame"]


def bx24(*args, cwd=None):
    return subprocess.run([*BX24, *map(str, args)], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


@pytest.mark.parametrize("command, says", [
    ([], "create, set up, serve, test and export"),
    (["new"], "bx24 setup && pytest"),
    (["setup"], "Node.js 20+"),
    (["serve"], "--emulator"),
    (["export"], "nginx.conf"),
])
def test_every_command_has_help(command, says):
    done = bx24(*command, "--help")
    assert done.returncode == 0
    assert says in " ".join(done.stdout.split())


def test_new_refuses_a_folder_that_holds_something(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "notes.txt").write_text("mine")
    done = bx24("new", "app", cwd=tmp_path)
    assert done.returncode == 2 and "not an empty folder" in done.stderr
    assert (tmp_path / "app" / "notes.txt").read_text() == "mine"


def test_a_bad_setting_is_one_clear_line(tmp_path):
    (tmp_path / "frame").mkdir()
    (tmp_path / "frame" / "main.py").write_text("")
    (tmp_path / "bx24.toml").write_text('interpreter = "cpython"\n')
    done = bx24("serve", "--project", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("use one of pyodide, micropython")
    assert "Traceback" not in done.stderr
