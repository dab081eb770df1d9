"""``bx24 export``: a deterministic static copy of the frame (CPython, no browser)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BX24 = [sys.executable, "-m", "bx24_frame"]


def export(project, out, *extra):
    done = subprocess.run(
        [*BX24, "export", str(out), "--project", str(project), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "bx24-export.json").read_text())["files"]


def tree(out):
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


@pytest.fixture
def project(tmp_path):
    project = tmp_path / "project"
    (project / "frame").mkdir(parents=True)
    (project / "frame" / "main.py").write_text("import helpers\n")
    (project / "frame" / "helpers.py").write_text("X = 1\n")
    (project / "frame" / "other.py").write_text("Y = 1\n")
    return project


def test_the_same_inputs_give_the_same_bytes(project, tmp_path):
    first = export(project, tmp_path / "a", "--root", "/srv/bx24")
    second = export(project, tmp_path / "b", "--root", "/srv/bx24")
    assert first == second
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    again = export(project, tmp_path / "a", "--root", "/srv/bx24")  # over an earlier export
    assert again == first and tree(tmp_path / "a") == tree(tmp_path / "b")


def test_a_changed_module_changes_only_the_modules_url_and_the_pages(project, tmp_path):
    before = export(project, tmp_path / "a", "--root", "/srv/bx24")
    (project / "frame" / "helpers.py").write_text("X = 2\n")
    after = export(project, tmp_path / "b", "--root", "/srv/bx24")
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    modules = {path for path in changed if path.startswith("www/modules/")}
    assert {path.removesuffix(".gz") for path in modules} == {
        next(p for p in before if p.startswith("www/modules/") and p.endswith(".json")),
        next(p for p in after if p.startswith("www/modules/") and p.endswith(".json")),
    }
    pages = {
        f"www/{name}{gz}"
        for name in ("index.html", "install.html", "main.html")
        for gz in ("", ".gz")
    }  # every page names the modules' URL
    assert changed - modules == pages


def test_every_file_but_the_page_has_a_content_or_version_url_and_text_has_a_gz(project, tmp_path):
    files = export(project, tmp_path / "out")
    www = [path for path in files if path.startswith("www/")]
    assert "www/index.html" in www
    for path in www:
        name = path.rsplit("/", 1)[-1]
        if path.startswith(("www/app/", "www/bx24/", "www/boot/")) and not name.endswith(".gz"):
            assert len(name.split(".")) >= 3, path  # name.<hash>.ext
        elif path.startswith("www/runtime/npm/"):
            assert "@" in path.split("/")[3] or "@" in path.split("/")[4], path
    assert "www/runtime/npm/@pyscript/core@" in "".join(www)
    assert any(path.endswith(".snapshot") for path in www)
    assert any(path.endswith("pyodide.asm.wasm.gz") for path in www)
    assert any(path.endswith("pyodide.asm.wasm.br") for path in www)  # bx24 setup's copy
    assert not any(path.endswith((".map", ".d.ts", "package.json", "README.md")) for path in www)


def test_an_export_refuses_a_folder_that_holds_something_else(project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    done = subprocess.run(
        [*BX24, "export", str(out), "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "not empty" in done.stderr
    assert (out / "precious.txt").read_text() == "keep me"
