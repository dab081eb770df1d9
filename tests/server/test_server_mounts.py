"""The three kinds of mounts resolve only what they serve (bx24_server.mounts), in-process."""

from pathlib import Path

from bx24_server.mounts import IMMUTABLE, REVALIDATE, Folder, Package, Packages, Table, find
from server_helpers import SECRET, write


def test_a_folder_serves_its_files_and_nothing_a_link_leads_out_to(tmp_path):
    root = tmp_path / "static"
    write(root / "index.html", "<p>hi")
    write(root / "sub" / "a.js", "a")
    write(root / ".hidden", SECRET)
    outside = write(tmp_path / "outside" / "secret.txt", SECRET)
    (root / "link-out.txt").symlink_to(outside)
    (root / "dir-out").symlink_to(outside.parent, target_is_directory=True)
    (root / "link-in.js").symlink_to(root / "sub" / "a.js")
    mount = Folder("static/", root, REVALIDATE, index="index.html")
    assert mount.resolve(["sub", "a.js"]) == str((root / "sub" / "a.js").resolve())
    assert mount.resolve(["link-in.js"]) == str((root / "sub" / "a.js").resolve())
    assert mount.resolve(["link-out.txt"]) is None
    assert mount.resolve(["dir-out", "secret.txt"]) is None
    assert mount.resolve(["sub"]) is None  # a folder is not a file
    assert mount.index() == "index.html"
    assert [rel for rel, _ in mount.files()] == ["index.html", "link-in.js", "sub/a.js"]


def test_a_folder_filter_applies_to_requests_and_listings(tmp_path):
    root = tmp_path / "wheels"
    write(root / "a.whl", "w")
    write(root / "notes.txt", "n")
    mount = Folder("w/", root, IMMUTABLE, allow=lambda rel: rel.endswith(".whl"))
    assert mount.resolve(["a.whl"]) and mount.resolve(["notes.txt"]) is None
    assert [rel for rel, _ in mount.files()] == ["a.whl"]


def test_a_table_serves_exactly_its_names(tmp_path):
    file = write(tmp_path / "main.py", "x")
    table = {"main.0123.py": file}
    mount = Table("app/", lambda: table, IMMUTABLE)
    assert mount.resolve(["main.0123.py"]) == str(file.resolve())
    assert mount.resolve(["main.py"]) is None
    file.unlink()
    assert mount.resolve(["main.0123.py"]) is None  # listed, but gone


def test_packages_only_at_their_version(tmp_path):
    core = tmp_path / "core"
    write(core / "dist" / "core.js", "c")
    write(core / "src" / "core.js", "s")
    mount = Packages(
        "npm/",
        {"@scope/core": Package("1.2.3", core, lambda rel: rel.startswith("dist/"))},
        IMMUTABLE,
    )
    assert mount.resolve(["@scope", "core@1.2.3", "dist", "core.js"])
    assert mount.resolve(["@scope", "core@1.2.4", "dist", "core.js"]) is None
    assert mount.resolve(["@scope", "core@1.2.3", "src", "core.js"]) is None
    assert mount.resolve(["core@1.2.3", "dist", "core.js"]) is None
    assert [rel for rel, _ in mount.files()] == ["@scope/core@1.2.3/dist/core.js"]


def test_find_takes_the_first_mount_whose_prefix_matches():
    npm = Folder("runtime/npm/", Path("/nonexistent"), IMMUTABLE)
    other = Folder("runtime/", Path("/nonexistent"), IMMUTABLE)
    assert find([npm, other], ["runtime", "npm", "x"]) == (npm, ["x"])
    assert find([npm, other], ["runtime", "pypi"]) == (other, ["pypi"])
    assert find([npm], ["runtimes"]) is None
