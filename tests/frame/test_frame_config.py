"""The frame's static configuration agrees with what is installed and served.

A module missing from a PyScript config is an ImportError only in the browser; a version in a
URL that differs from the lockfile is a 404 at boot. Both are caught here, in CPython.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME = ROOT / "frame"
CONFIGS = ["pyodide.json", "micropython.json"]


def locked_versions():
    lock = json.loads((ROOT / "runtime" / "package-lock.json").read_text())
    return {path.removeprefix("node_modules/"): entry["version"]
            for path, entry in lock["packages"].items() if path.startswith("node_modules/")}


def runtime_urls(text):
    return re.findall(r"runtime/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/", text)


def runtime_files(text):
    """(package, path inside it) of every runtime file a frame file names in full."""
    return re.findall(r"runtime/npm/((?:@[^/@]+/)?[^/@]+)@[^/]+/([\w./-]+\.(?:m?js|wasm|zip))\b",
                      text)


def test_every_bx24_module_is_in_both_configs():
    modules = sorted(p.name for p in (ROOT / "pylib" / "bx24").glob("*.py"))
    for name in CONFIGS:
        files = json.loads((FRAME / name).read_text())["files"]
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
               if path.suffix in (".json", ".js", ".mjs", ".html")]
    found = [url for text in sources for url in runtime_urls(text)]
    assert {name for name, _ in found} >= {
        "@pyscript/core", "pyodide", "@micropython/micropython-webassembly-pyscript"}
    for name, version in found:
        assert locked.get(name) == version, f"{name}@{version} but the lockfile has {locked.get(name)}"


def test_every_runtime_file_the_frame_names_is_installed():
    # index.html preloads PyScript's hash-named core chunk: a PyScript update renames it, and a
    # stale preload is a wasted request (and a 404) on every page.
    named = [item for path in sorted(FRAME.iterdir()) if path.suffix in (".json", ".js", ".mjs", ".html")
             for item in runtime_files(path.read_text())]
    assert ("@pyscript/core", "dist/core.js") in named
    modules = ROOT / "runtime" / "node_modules"
    missing = [f"{package}/{path}" for package, path in named if not (modules / package / path).is_file()]
    assert not missing, f"named by the frame but not installed: {missing}"


def test_index_preloads_the_chunk_pyscript_core_imports():
    core = (ROOT / "runtime/node_modules/@pyscript/core/dist/core.js").read_text()
    chunks = set(re.findall(r'from\s*"\./(core-[\w-]+\.js)"', core))
    index = (FRAME / "index.html").read_text()
    assert chunks and all(f"dist/{chunk}" in index for chunk in chunks), chunks


def test_the_wheel_url_names_the_pinned_wheel():
    pinned = re.search(r"^([\w-]+)==([\w.]+)", (ROOT / "runtime" / "wheels.txt").read_text(), re.M)
    wheel = f"{pinned[1].replace('-', '_')}-{pinned[2]}-py3-none-any.whl"
    files = json.loads((FRAME / "pyodide.json").read_text())["files"]
    assert f"./runtime/pypi/{wheel}" in files


def test_the_frame_loads_bx24_from_the_production_url():
    index = (FRAME / "index.html").read_text()
    assert '<script src="https://api.bitrix24.com/api/v1/"></script>' in index
    order = [index.index(tag) for tag in (
        'src="https://api.bitrix24.com/api/v1/"', 'src="pylib/bx24/bridge.js"')]
    assert order == sorted(order), "BX24, then the bridge (it binds BX24's events)"
    # Anywhere, as long as it never blocks the parser: boot.js waits for the two above itself.
    assert '<script type="module" async src="boot.js"></script>' in index
