"""The frame a project gets (bx24_frame.site): every module found and listed once, every URL
naming its content or a pinned version, the page in the order the boot needs. In CPython.

A module missing from the page is an ImportError only in the browser; a version in a URL that
differs from the lockfile is a 404 at boot. Both are caught here.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

from bx24_frame import layout, settings
from bx24_frame.runtime import PINS, SERVED_PARTS, Pins, Runtime
from bx24_frame.settings import SettingsError
from bx24_frame.site import BX24_LIBRARY_URL, FrameSite, hashed_name, library_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runtime():
    return Runtime().require()


@pytest.fixture(scope="module")
def repo_site(runtime):
    return FrameSite(settings.load(ROOT), runtime)


def make_project(tmp_path, files, toml=None):
    for rel, text in files.items():
        path = tmp_path / "frame" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if toml is not None:
        (tmp_path / "bx24.toml").write_text(toml)
    return tmp_path


def bundle(build):
    """The page's one file of Python modules: {path in the interpreter: source}."""
    url = build.boot["pythonModules"]
    assert url.startswith(layout.MODULES)
    path = build.tables[layout.MODULES][url[len(layout.MODULES) :]]
    assert path.name == hashlib.sha256(path.read_bytes()).hexdigest()[:16] + ".json"
    return json.loads(path.read_text())


def test_every_bx24_module_is_in_the_modules_file_with_its_source(repo_site):
    build = repo_site.build()
    modules = bundle(build)
    library = {"bx24/" + p.name: p.read_text() for p in library_dir().glob("*.py")}
    assert {k: v for k, v in modules.items() if k.startswith("bx24/")} == library
    for interpreter in build.boot["interpreters"].values():  # not listed one by one
        assert not any(url.startswith(layout.LIBRARY) for url in interpreter["config"]["files"])
    assert not any(name.endswith(".py") for name in build.tables[layout.LIBRARY])


def test_the_modules_file_is_named_by_its_content(tmp_path, runtime):
    project = make_project(tmp_path, {"main.py": "", "helpers.py": "X = 1\n"})
    site = FrameSite(settings.load(project), runtime)
    first = site.build().boot["pythonModules"]
    (tmp_path / "frame" / "helpers.py").write_text("X = 2\n")
    second = site.build()
    assert second.boot["pythonModules"] != first
    assert bundle(second)["helpers.py"] == "X = 2\n"


def test_plugins_a_worker_never_uses_are_left_out_and_the_storage_check_preloaded(repo_site):
    build = repo_site.build()
    for interpreter in build.boot["interpreters"].values():
        assert interpreter["config"]["plugins"] == [
            "!deprecations-manager",
            "!donkey",
            "!py-editor",
            "!py-game",
            "!py-terminal",
        ]
    assert build.boot["memoryIndexedDB"] in preloaded(build.page().decode())


def preloaded(page):
    """The modules a page preloads: its <link rel=modulepreload>, or in a worker page where only
    some frames run Python, those its inline script preloads there (the boot config's)."""
    links = re.findall(r'rel="modulepreload" href="([^"]+)"', page)
    boot = json.loads(re.search(r'id="bx24-boot">(.*?)</script>', page, re.S).group(1))
    return links + boot.get("preloads", [])


@pytest.mark.parametrize("toml, links", [("", False), ('python_frames = "all"\n', True)])
def test_a_relay_preloads_nothing(tmp_path, runtime, toml, links):
    project = make_project(tmp_path, {"main.py": ""}, toml=toml)
    build = FrameSite(settings.load(project), runtime).build()
    worker = build.page().decode()
    assert bool(re.findall(r'<link rel="modulepreload"', worker)) is links
    assert build.boot["frames"]["python"] == (0 if links else 2)
    assert preloaded(worker)  # preloaded by the inline script in a frame that runs Python
    assert re.findall(r'<link rel="modulepreload"', build.page(kind="install").decode())


def test_runtime_urls_name_the_locked_versions(repo_site):
    locked = Pins().packages
    page = repo_site.build().page().decode()
    found = re.findall(r"runtime/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/", page)
    assert {name for name, _ in found} == set(locked)
    for name, version in found:
        assert locked[name] == version


def test_package_json_and_the_lockfile_agree_and_every_package_has_a_served_part():
    manifest = json.loads((PINS / "package.json").read_text())["dependencies"]
    assert manifest == Pins().packages
    assert set(SERVED_PARTS) == set(manifest)


def test_every_runtime_file_the_page_names_is_served(repo_site):
    page = repo_site.build().page().decode()
    named = set(re.findall(r'"(runtime/[^"]+)"', page))
    assert any(url.endswith("dist/core.js") for url in named)
    assert any(url.endswith(".snapshot") for url in named), "no snapshot: run bx24 setup"
    served = {mount.prefix + rel for mount in repo_site.mounts for rel, _ in mount.files()}
    assert named <= served, named - served


def test_the_page_preloads_the_chunk_pyscript_core_imports(repo_site, runtime):
    core = (runtime.package_dir("@pyscript/core") / "dist" / "core.js").read_text()
    chunks = set(re.findall(r'from\s*"\./(core-[\w-]+\.js)"', core))
    page = repo_site.build().page().decode()
    found = {
        m.group(1)
        for url in preloaded(page)
        if (m := re.match(r"runtime/npm/@pyscript/core@[^/]+/dist/(.+)", url))
    }
    assert chunks and chunks <= found


def test_the_wheel_url_names_the_pinned_wheel(repo_site):
    wheel = Pins().wheels[0]
    interpreters = repo_site.build().boot["interpreters"]
    files = interpreters["pyodide"]["config"]["files"]
    assert any(
        re.fullmatch(rf"runtime/pypi/{wheel.pattern.replace('*', '.*')}", url) and target == "./*"
        for url, target in files.items()
    )
    assert not any(
        url.startswith(layout.WHEELS) for url in interpreters["micropython"]["config"]["files"]
    )


def test_the_page_loads_bx24_from_the_production_url_in_order(repo_site):
    page = repo_site.build().page().decode()
    order = [
        page.index(tag)
        for tag in (
            'id="bx24-boot"',
            '<script type="module" async src="boot/boot.',
            '<script src="bx24/frames.',
            f'<script src="{BX24_LIBRARY_URL}"></script>',
            '<script src="bx24/bridge.',
        )
    ]
    assert order == sorted(order), "config, boot.js (async), frames.js, BX24, then the bridge"
    assert "sip." not in page.split("</head>")[0].split('id="bx24-boot"')[0]
    assert '<script src="bx24/sip.' not in page  # imported only by an app that makes a phone


def test_the_apps_modules_are_found_and_listed(tmp_path, runtime):
    project = make_project(
        tmp_path,
        {
            "main.py": "import helpers\n",
            "helpers.py": "X = 1\n",
            "pkg/__init__.py": "",
            "pkg/deep/mod.py": "Y = 2\n",
            ".hidden.py": "",
            "__pycache__/helpers.cpython-311.py": "",
            "data/prompts.json": "{}",
            "notes.txt": "not listed\n",
        },
        toml='[files]\n"data/prompts.json" = "prompts.json"\n',
    )
    build = FrameSite(settings.load(project), runtime).build()
    for interpreter in build.boot["interpreters"].values():
        targets = {
            target
            for url, target in interpreter["config"]["files"].items()
            if url.startswith(layout.APP)
        }
        assert targets == {"./prompts.json"}  # data files: PyScript writes them
    modules = {path for path in bundle(build) if not path.startswith("bx24/")}
    assert modules == {"helpers.py", "pkg/__init__.py", "pkg/deep/mod.py"}
    assert build.boot["main"] == build.urls[(layout.APP, "main.py")]
    assert set(build.tables[layout.APP].values()) == {
        project / "frame" / rel for rel in ("main.py", "data/prompts.json")
    }


def test_the_interpreter_default_comes_from_the_settings(tmp_path, runtime):
    project = make_project(tmp_path, {"main.py": ""}, toml='interpreter = "micropython"\n')
    assert FrameSite(settings.load(project), runtime).build().boot["interpreter"] == "micropython"


def test_a_link_out_of_the_app_folder_is_refused(tmp_path, runtime):
    project = make_project(tmp_path / "p", {"main.py": ""})
    (tmp_path / "shared.py").write_text("SECRET = 1\n")
    (project / "frame" / "shared.py").symlink_to(tmp_path / "shared.py")
    with pytest.raises(SettingsError, match="leads outside the app folder"):
        FrameSite(settings.load(project), runtime).build()


@pytest.mark.parametrize(
    "toml, message",
    [
        ("nope = 1\n", "unknown setting"),
        ('interpreter = "cpython"\n', "use one of pyodide, micropython"),
        ('app = "../elsewhere"\n', "without '..'"),
        ('preload = ["os; import x"]\n', "list of module names"),
        ('[files]\n"/etc/passwd" = "x"\n', "relative path"),
        ('[files]\n"missing.json" = "x"\n', "not a file"),
        ("this is = not toml\n", "not valid TOML"),
        ('[app]\ntitle = "x"\n', "the application's settings go in [application]"),
        ("[application]\ncolour = 1\n", "unknown key(s) colour"),
        ('[application]\nworker_url = "ftp://x"\n', "`worker_url` is an http(s) URL"),
        ('[application]\nusers = ["1"]\n', "`users` is a list of user ids"),
        ('[[application.lines]]\nname = "no number"\n', "has a `number` (a string)"),
        ("[application.options]\nx = [1]\n", "table of names and plain values"),
        ('[application]\nlang_all = {de = "x"}\n', "a table per language"),
        ("python_frames = 0\n", 'from 1 to 50, or "all"'),
        ('python_frames = "some"\n', 'from 1 to 50, or "all"'),
    ],
)
def test_bad_settings_say_what_to_change(tmp_path, runtime, toml, message):
    project = make_project(tmp_path, {"main.py": ""}, toml=toml)
    with pytest.raises(SettingsError, match=re.escape(message)):
        FrameSite(settings.load(project), runtime).build()


def test_a_project_without_main_py_says_how_to_make_one(tmp_path):
    with pytest.raises(SettingsError, match="bx24 new DIR"):
        settings.load(tmp_path).check_app()


def test_the_snapshot_does_not_depend_on_the_apps_modules(tmp_path, runtime):
    project = make_project(tmp_path, {"main.py": "A = 1\n"})
    site = FrameSite(settings.load(project), runtime)
    before = site.snapshot_for().key
    (project / "frame" / "main.py").write_text("A = 2\n")
    (project / "frame" / "more.py").write_text("B = 1\n")
    assert site.snapshot_for().key == before
    (project / "bx24.toml").write_text('preload = ["decimal"]\n')
    assert FrameSite(settings.load(project), runtime).snapshot_for().key != before


def test_hashed_names():
    assert hashed_name("main.py", "abc") == "main.abc.py"
    assert hashed_name("pkg/mod.py", "abc") == "pkg/mod.abc.py"
    assert hashed_name("LICENSE", "abc") == "LICENSE.abc"


def test_the_stdlib_zip_is_stored_member_by_member_and_the_same_every_time(tmp_path):
    import zipfile

    from bx24_frame.snapshot import stored_stdlib

    source = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(zipfile.ZipInfo("json/__init__.py", (2020, 1, 2, 3, 4, 6)), "X = 1\n" * 50)
        out.writestr(zipfile.ZipInfo("abc.py", (2021, 1, 1, 0, 0, 0)), "Y = 2\n")
    first, second = stored_stdlib(source, tmp_path / "a"), stored_stdlib(source, tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    assert first.name.startswith("stdlib.") and first.suffix == ".zip"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(first) as stored:
        assert [m.filename for m in stored.infolist()] == [m.filename for m in original.infolist()]
        for member in stored.infolist():
            assert member.compress_type == zipfile.ZIP_STORED
            assert member.date_time == original.getinfo(member.filename).date_time
            assert stored.read(member) == original.read(member.filename)
    assert stored_stdlib(source, tmp_path / "a") == first  # again: the one file, no leftovers
    assert [p.name for p in (tmp_path / "a").iterdir()] == [first.name]


def test_the_application_pages_carry_the_application_settings(tmp_path, runtime):
    """install and main: their own Python, the [application] table with its defaults, the
    hooks the app folder has, the server's endpoints; no frames.js (no election there)."""
    import json

    project = make_project(
        tmp_path,
        {"main.py": "", "install.py": "", "main_page.py": ""},
        toml='[application]\ntitle = "Phone"\n[[application.lines]]\nnumber = "7"\n',
    )
    site = FrameSite(settings.load(project), runtime)
    build = site.build()
    for kind in ("install", "main"):
        page = site.page(b"", kind).decode()
        boot = json.loads(page.split('id="bx24-boot">')[1].split("</script>")[0])
        assert boot["page"] == kind and boot["main"].startswith("boot/")
        assert boot["app"]["title"] == "Phone" and boot["app"]["hooks"] == ["install", "main_page"]
        assert boot["app"]["lines"] == [{"number": "7", "name": "7", "crm_auto_create": True}]
        assert boot["server"]["install"] == "bx24-install"
        assert build.urls[("bx24/", "frames.js")] not in page and "<body hidden>" not in page
    worker = site.page().decode()
    assert build.urls[("bx24/", "frames.js")] in worker and "<body hidden>" in worker
    assert '"page"' not in worker.split('id="bx24-boot">')[1].split("</script>")[0]


def test_this_repository_runs_the_samples_application_settings():
    """The repository's bx24.toml serves the template's sample: the same [application]."""
    root = Path(__file__).resolve().parents[2]
    template = root / "pylib" / "bx24_frame" / "template"
    assert settings.load(root).app == settings.load(template).app
    assert settings.load(root).app_dir == (template / "frame").resolve()
