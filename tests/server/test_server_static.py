"""The URL table of docs/architecture.md: where each URL comes from, its type and cache policy."""

import pytest

from server_helpers import CORE_JS, MAIN_PY, SNAPSHOT, WASM, WHEEL, request, write

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/main.py", "text/x-python; charset=utf-8"),
        ("/boot.js", "text/javascript; charset=utf-8"),
        ("/app.mjs", "text/javascript; charset=utf-8"),
        ("/settings.toml", "application/toml; charset=utf-8"),
        ("/data.json", "application/json; charset=utf-8"),
        ("/x.map", "application/json; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/notes.txt", "text/plain; charset=utf-8"),
        ("/logo.svg", "image/svg+xml; charset=utf-8"),
        ("/logo.png", "image/png"),
        ("/lib.zip", "application/zip"),
        ("/runtime/npm/pyodide@314.0.2/pyodide.asm.wasm", "application/wasm"),
        (f"/runtime/pypi/{WHEEL}", "application/zip"),
    ],
)
def test_content_types(server, path, content_type):
    reply = request(server.url, path=path)
    assert reply.status == 200, path
    assert reply.headers["content-type"] == content_type
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_frame_files_revalidate(server, site):
    reply = request(server.url, path="/main.py")
    assert reply.decoded().decode() == MAIN_PY
    assert reply.headers["cache-control"] == "no-cache"
    assert reply.headers["etag"] and reply.headers["last-modified"]
    assert request(server.url, path="/sub/mod.py").text == "X = 1\n"

    by_etag = request(server.url, path="/main.py", headers={"If-None-Match": reply.headers["etag"]})
    assert by_etag.status == 304
    by_list = request(server.url, path="/main.py",
                      headers={"If-None-Match": f'"other", W/{reply.headers["etag"]}'})
    assert by_list.status == 304
    by_date = request(server.url, path="/main.py",
                      headers={"If-Modified-Since": reply.headers["last-modified"]})
    assert by_date.status == 304
    stale = request(server.url, path="/main.py", headers={"If-None-Match": '"stale"'})
    assert stale.status == 200
    old_date = request(server.url, path="/main.py",
                       headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old_date.status == 200


def test_edited_user_module_is_seen_on_revalidation(server, site):
    module = site["frame"] / "sub" / "edited.py"
    module.write_text("X = 1\n")
    first = request(server.url, path="/sub/edited.py")
    module.write_text("X = 2  # edited\n")
    second = request(server.url, path="/sub/edited.py",
                     headers={"If-None-Match": first.headers["etag"]})
    assert second.status == 200 and second.text == "X = 2  # edited\n"


def test_library_and_emulator(server):
    assert request(server.url, path="/pylib/bx24/__init__.py").text == "VERSION = 1\n"
    bridge = request(server.url, path="/pylib/bx24/bridge.js")
    assert bridge.status == 200 and bridge.headers["cache-control"] == "no-cache"
    emulator = request(server.url, path="/emulator/")
    assert emulator.status == 200 and "emulator" in emulator.text
    assert emulator.headers["content-type"] == "text/html; charset=utf-8"
    assert request(server.url, path="/emulator/emulator.js").text == "// emulator\n"
    redirect = request(server.url, path="/emulator")
    assert redirect.status == 308 and redirect.headers["location"] == "/emulator/"
    assert request(server.url, path="/pylib/other/x.py").status == 404


def test_npm_files_only_at_the_installed_version(server):
    wasm = request(server.url, path="/runtime/npm/pyodide@314.0.2/pyodide.asm.wasm")
    assert wasm.body == WASM
    assert wasm.headers["cache-control"] == IMMUTABLE
    scoped = request(server.url, path="/runtime/npm/@pyscript/core@0.7.31/dist/core.js")
    assert scoped.decoded().decode() == CORE_JS
    assert scoped.headers["cache-control"] == IMMUTABLE
    for stale in (
        "/runtime/npm/pyodide@314.0.1/pyodide.asm.wasm",
        "/runtime/npm/@pyscript/core@0.7.30/dist/core.js",
        "/runtime/npm/pyodide/pyodide.asm.wasm",
        "/runtime/npm/pyodide@/pyodide.asm.wasm",
        "/runtime/npm/@pyscript@0.7.31/core/dist/core.js",
        "/runtime/npm/missing@1.0.0/x.js",
        "/runtime/npm/pyodide@314.0.2/",
        "/runtime/node_modules/pyodide/pyodide.mjs",
    ):
        assert request(server.url, path=stale).status == 404, stale


def test_wheels_are_immutable(server, site):
    wheel = request(server.url, path=f"/runtime/pypi/{WHEEL}")
    assert wheel.body == site["wheel"].read_bytes()
    assert wheel.headers["cache-control"] == IMMUTABLE
    assert request(server.url, path="/runtime/pypi/other-1.0-py3-none-any.whl").status == 404


def test_snapshot_files_are_served_and_revalidated(server):
    manifest = request(server.url, path="/runtime/snapshot/manifest.json")
    assert manifest.status == 200
    assert manifest.headers["content-type"] == "application/json; charset=utf-8"
    image = request(server.url, path="/runtime/snapshot/t/py.snapshot")
    assert image.body == SNAPSHOT
    assert image.headers["content-type"] == "application/octet-stream"
    assert image.headers["cache-control"] == "no-cache"  # rebuilt in place by the set-up
    again = request(server.url, path="/runtime/snapshot/t/py.snapshot",
                    headers={"If-None-Match": image.headers["etag"]})
    assert again.status == 304


def test_a_snapshot_image_named_by_its_hash_is_immutable(server, site):
    write(site["runtime"] / "snapshot" / "0123456789abcdef.snapshot", SNAPSHOT)
    image = request(server.url, path="/runtime/snapshot/0123456789abcdef.snapshot")
    assert image.status == 200 and image.body == SNAPSHOT
    assert image.headers["cache-control"] == IMMUTABLE
    manifest = request(server.url, path="/runtime/snapshot/manifest.json")
    assert manifest.headers["cache-control"] == "no-cache"


def test_health(server):
    reply = request(server.url, path="/healthz")
    assert reply.status == 200 and reply.text == "ok\n"
    assert request(server.url, "POST", "/healthz").status == 405


def test_missing_file_is_404(server):
    reply = request(server.url, path="/nope.py")
    assert reply.status == 404
    assert reply.headers["x-content-type-options"] == "nosniff"
