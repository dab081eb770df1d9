"""A cache changed after `bx24 setup` is never served or exported: setup, serve and export check
every file the frame would load from it against what the set-up recorded, and refuse, naming the
file and what to do (bx24_frame.integrity)."""

import subprocess

import pytest

from bx24_frame import integrity
from bx24_frame.cli import compress_brotli
from bx24_server.compression import precompress
from server_helpers import BX24, env_for, make_site, serve_command


@pytest.fixture
def site(tmp_path):
    made = make_site(tmp_path)
    precompress(made["site"].mounts, made["cache"])
    compress_brotli(made["site"].mounts, made["cache"])
    assert integrity.problems(made["site"]) == []
    return made


def core_js(site):
    return site["runtime"].package_dir("@pyscript/core") / "dist" / "core.js"


def a_copy(site, kind):
    folder = site["cache"] / {"gz": "gzip", "br": "br"}[kind]
    copies = [p for p in folder.iterdir() if p.suffix == "." + kind and p.stat().st_size]
    assert copies, f"no {kind} copy was made"
    return copies[0]


CHANGES = {
    "core.js edited": lambda site: core_js(site).write_text("alert('changed');\n"),
    "a file added to a package": lambda site: (
        site["runtime"].package_dir("pyodide") / "extra.js"
    ).write_text("x\n"),
    "a wheel replaced": lambda site: site["wheel"].write_bytes(b"PK\x03\x04 other"),
    "a runtime file removed": lambda site: core_js(site).unlink(),
    "the snapshot altered": lambda site: site["snapshot"].write_bytes(b"other image"),
    "a gzip copy altered": lambda site: a_copy(site, "gz").write_bytes(b"\x1f\x8bjunk"),
    "a brotli copy altered": lambda site: a_copy(site, "br").write_bytes(b"junk"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_serve_and_export_refuse_a_changed_cache_and_name_the_file(site, change, tmp_path):
    CHANGES[change](site)
    found = integrity.problems(site["site"])
    assert len(found) == 1, found
    served = subprocess.run(
        serve_command(site, "--port", "0"),
        env=env_for(site),
        capture_output=True,
        text=True,
        timeout=30,
    )
    exported = subprocess.run(
        [*BX24, "export", str(tmp_path / "out"), "--project", str(site["project"])],
        env=env_for(site),
        capture_output=True,
        text=True,
        timeout=30,
    )
    for done in (served, exported):
        assert done.returncode == 2
        assert found[0].split(":")[0] in done.stderr and "bx24 setup --repair" in done.stderr
    assert not (tmp_path / "out").exists()


def test_setup_refuses_too_instead_of_saying_up_to_date(site):
    CHANGES["core.js edited"](site)
    done = subprocess.run(
        [*BX24, "setup", "--project", str(site["project"])],
        env=env_for(site),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert str(core_js(site)) in done.stderr and "changed since `bx24 setup`" in done.stderr
