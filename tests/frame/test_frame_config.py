"""The frame's static configuration agrees with what is installed and served.

A module missing from a PyScript config is an ImportError only in the browser; a version in a
URL that differs from the lockfile is a 404 at boot. Both are caught here, in CPython.
"""

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME = ROOT / "frame"
CONFIGS = ["pyodide.toml", "micropython.toml"]


def locked_versions():
    lock = json.loads((ROOT / "runtime" / "package-lock.json").read_text())
    return {path.removeprefix("node_modules/"): entry["version"]
            for path, entry in lock["packages"].items() if path.startswith("node_modules/")}


def runtime_urls(text):
    return re.findall(r"runtime/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/", text)


def test_every_bx24_module_is_in_both_configs():
    modules = sorted(p.name for p in (ROOT / "pylib" / "bx24").glob("*.py"))
    for name in CONFIGS:
        files = tomllib.loads((FRAME / name).read_text())["files"]
        listed = sorted(Path(dest).name for src, dest in files.items() if "/pylib/bx24/" in src)
        assert listed == modules, f"{name} lists {listed}, pylib/bx24 has {modules}"
        for src, dest in files.items():
            if "/pylib/bx24/" in src:
                assert dest == "./bx24/" + Path(src).name


def test_runtime_urls_name_the_locked_versions():
    locked = locked_versions()
    # Every frame file that names a runtime URL (configs, boot.js, index.html's preload, the
    # snapshot loader): a version bump that misses one is a 404 only in the browser.
    sources = [path.read_text() for path in sorted(FRAME.iterdir())
               if path.suffix in (".toml", ".js", ".mjs", ".html")]
    found = [url for text in sources for url in runtime_urls(text)]
    assert {name for name, _ in found} >= {
        "@pyscript/core", "pyodide", "@micropython/micropython-webassembly-pyscript"}
    for name, version in found:
        assert locked.get(name) == version, f"{name}@{version} but the lockfile has {locked.get(name)}"


def test_the_wheel_url_names_the_pinned_wheel():
    pinned = re.search(r"^([\w-]+)==([\w.]+)", (ROOT / "runtime" / "wheels.txt").read_text(), re.M)
    wheel = f"{pinned[1].replace('-', '_')}-{pinned[2]}-py3-none-any.whl"
    files = tomllib.loads((FRAME / "pyodide.toml").read_text())["files"]
    assert f"./runtime/pypi/{wheel}" in files


def test_the_frame_loads_bx24_from_the_production_url():
    index = (FRAME / "index.html").read_text()
    assert '<script src="https://api.bitrix24.com/api/v1/"></script>' in index
    order = [index.index(tag) for tag in (
        'src="https://api.bitrix24.com/api/v1/"', 'src="pylib/bx24/bridge.js"', 'src="boot.js"')]
    assert order == sorted(order), "BX24, then the bridge, then PyScript"
