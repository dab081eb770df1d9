"""The ``bx24`` command's help and its errors: each says what to do."""

import subprocess
import sys

import pytest

BX24 = [sys.executable, "-m", "bx24_frame"]


def bx24(*args, cwd=None):
    return subprocess.run(
        [*BX24, *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd
    )


@pytest.mark.parametrize(
    "command, says",
    [
        ([], "create, set up, serve, test and export"),
        (["new"], "bx24 setup && pytest"),
        (["setup"], "Node.js 20+"),
        (["serve"], "--emulator"),
        (["export"], "nginx.conf"),
    ],
)
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


def test_the_readmes_server_table_shows_configs_defaults():
    """The server's defaults are written once (bx24_server.config.Config): the command line
    takes them from there, and the README's table must show the same."""
    import re
    from pathlib import Path

    from bx24_server.cli import add_arguments
    from bx24_server.config import Config

    d = Config.default
    cells = [
        re.split(r"(?<!\\)\|", line)
        for line in (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
        if line.startswith("| `--")
    ]
    rows = {cell[1]: cell[2] for cell in cells}

    def row(option):
        return next(cell for name, cell in rows.items() if f"`{option}" in name)

    year = 365 * 24 * 3600
    assert row("--host").split(",")[0].strip(" `") == d("host")
    assert row("--port").split(",")[1].strip(" `") == str(d("port"))
    assert row("--log-max-bytes").strip() == f"{d('log_max_bytes') // 2**20} MiB, {d('log_keep')}"
    assert row("--notices-per-minute").strip() == (
        f"{d('notices_per_minute'):g} (after a burst of {d('notice_burst')})"
    )
    assert row("--max-body").strip() == str(d("max_body"))
    assert row("--access-log").strip().startswith(f"`{d('access_log')}`")
    assert row("--hsts-max-age").strip() == "a year" and d("hsts_max_age") == year
    assert row("--header-timeout").strip() == ", ".join(
        f"{d(n):g}" for n in ("header_timeout", "body_timeout", "send_timeout")
    )
    assert row("--max-head-bytes").strip() == str(d("max_head_bytes"))
    assert row("--portal-store").strip().startswith(f"`{d('portal_store').as_posix()}`")
    assert row("--oauth-server").strip() == f"`{d('oauth_server')}`"
    assert row("--rebinds-per-day").strip() == (f"{d('rebinds_per_day')}, {d('rebind_backoff'):g}")
    # and argparse takes its defaults from Config
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    for name in (
        "host",
        "port",
        "log_max_bytes",
        "log_keep",
        "notices_per_minute",
        "max_body",
        "access_log",
        "hsts_max_age",
        "header_timeout",
        "body_timeout",
        "send_timeout",
        "max_head_bytes",
        "oauth_server",
        "rebinds_per_day",
        "rebind_backoff",
    ):
        assert getattr(args, name) == d(name), name
    # and every option is in the table
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert any(
                    f"`{option}" in name or f", `{option}" in name or f"{option}`" in name
                    for name in rows
                ), f"{option} not in the README"
