"""The layout of bx24_frame.layout as served: each mount's files, types and cache policies."""

import pytest

from bx24_frame import layout
from server_helpers import CORE_JS, EXTRA_FILES, MAIN_PY, SNAPSHOT, WASM, npm_path, request, url_of

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("settings.toml", "application/toml; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.mjs", "text/javascript; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("logo.png", "image/png"),
        ("lib.zip", "application/zip"),
    ],
)
def test_content_types(server, site, name, content_type):
    reply = request(server.url, path=url_of(site, layout.APP, f"extra/{name}"))
    assert reply.status == 200, name
    assert reply.headers["content-type"] == content_type
    assert reply.headers["x-content-type-options"] == "nosniff"
    content = EXTRA_FILES[name]
    assert reply.decoded() == (content.encode() if isinstance(content, str) else content)


def test_app_library_and_boot_files_are_immutable_under_content_urls(server, site):
    main = request(server.url, path=url_of(site, layout.APP, "main.py"))
    assert main.decoded().decode() == MAIN_PY
    assert main.headers["content-type"] == "text/x-python; charset=utf-8"
    for prefix, rel in ((layout.LIBRARY, "bridge.js"), (layout.BOOT, "boot.js")):
        reply = request(server.url, path=url_of(site, prefix, rel))
        assert reply.status == 200 and reply.headers["cache-control"] == IMMUTABLE, rel
    # Only the names the page gives: the plain name, or another hash, is not a file here.
    for path in (
        "/app/main.py",
        "/app/main.0000000000000000.py",
        "/bx24/callcard.py",
        "/boot/boot.js",
        "/app/extra/notes.txt",
        "/app/.env",
    ):
        assert request(server.url, path=path).status == 404, path


def test_etags_come_from_the_content(server, site):
    first = request(server.url, path=url_of(site, layout.APP, "extra/notes.txt"))
    again = request(
        server.url,
        path=url_of(site, layout.APP, "extra/notes.txt"),
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status == 304
    (site["app"] / "extra" / "notes.txt").touch()  # a new mtime, the same bytes
    touched = request(server.url, path=url_of(site, layout.APP, "extra/notes.txt"))
    assert touched.headers["etag"] == first.headers["etag"]


def test_library_and_emulator(server):
    emulator = request(server.url, path="/emulator/")
    assert emulator.status == 200 and "emulator" in emulator.text
    assert emulator.headers["content-type"] == "text/html; charset=utf-8"
    assert emulator.headers["cache-control"] == "no-cache"
    assert request(server.url, path="/emulator/emulator.js").status == 200
    redirect = request(server.url, path="/emulator")
    assert redirect.status == 308 and redirect.headers["location"] == "/emulator/"
    assert request(server.url, path="/pylib/bx24/callcard.py").status == 404


def test_npm_files_only_at_the_installed_version_and_only_what_the_frame_loads(server, site):
    wasm = request(server.url, path=npm_path(site, "pyodide", "pyodide.asm.wasm"))
    assert wasm.body == WASM
    assert wasm.headers["cache-control"] == IMMUTABLE
    scoped = request(server.url, path=npm_path(site, "@pyscript/core", "dist/core.js"))
    assert scoped.decoded().decode() == CORE_JS
    assert scoped.headers["cache-control"] == IMMUTABLE
    pyodide = site["versions"]["pyodide"]
    for stale in (
        "/runtime/npm/pyodide@1.0.0/pyodide.asm.wasm",
        "/runtime/npm/@pyscript/core@0.0.1/dist/core.js",
        "/runtime/npm/pyodide/pyodide.asm.wasm",
        "/runtime/npm/pyodide@/pyodide.asm.wasm",
        "/runtime/npm/@pyscript@0.7.31/core/dist/core.js",
        "/runtime/npm/missing@1.0.0/x.js",
        f"/runtime/npm/pyodide@{pyodide}/",
        f"/runtime/npm/pyodide@{pyodide}/README.md",  # not a file the frame loads
        f"/runtime/npm/pyodide@{pyodide}/package.json",
        npm_path(site, "@pyscript/core", "src/core.js"),
        "/runtime/node_modules/pyodide/pyodide.mjs",
    ):
        assert request(server.url, path=stale).status == 404, stale


def test_wheels_are_immutable(server, site):
    wheel = request(server.url, path=f"/runtime/pypi/{site['wheel'].name}")
    assert wheel.body == site["wheel"].read_bytes()
    assert wheel.headers["cache-control"] == IMMUTABLE
    assert request(server.url, path="/runtime/pypi/other-1.0-py3-none-any.whl").status == 404


def test_the_snapshot_image_is_immutable_and_its_manifest_not_served(server, site):
    image = request(server.url, path=f"/runtime/snapshot/{site['snapshot'].name}")
    assert image.status == 200 and image.body == SNAPSHOT
    assert image.headers["content-type"] == "application/octet-stream"
    assert image.headers["cache-control"] == IMMUTABLE
    assert request(server.url, path="/runtime/snapshot/manifest.json").status == 404


def test_health(server):
    reply = request(server.url, path="/healthz")
    assert reply.status == 200 and reply.text == "ok\n"
    assert request(server.url, "POST", "/healthz").status == 405


def test_missing_file_is_404(server):
    reply = request(server.url, path="/nope.py")
    assert reply.status == 404
    assert reply.headers["x-content-type-options"] == "nosniff"
