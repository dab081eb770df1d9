"""gzip of text, wasm and zips when accepted, made once per file version, never per request."""

import gzip
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bx24_server.background import ServerThread
from bx24_server.compression import accepts_encoding
from bx24_server.config import Config
from server_helpers import MAIN_PY, SERVER_PY, WASM, WHEEL, make_site, request, server_args

GZ = {"Accept-Encoding": "gzip, deflate"}
WASM_PATH = "/runtime/npm/pyodide@314.0.2/pyodide.asm.wasm"


def config_for(site, **overrides):
    settings = dict(
        port=0, frame_dir=site["frame"], runtime_dir=site["runtime"], bx24_dir=site["bx24"],
        emulator_dir=site["emulator"], error_log=site["error_log"], access_log=None,
        cache_dir=site["cache"],
    )
    settings.update(overrides)
    return Config(**settings)


def test_text_and_wasm_are_gzipped_when_accepted(server):
    for path, original in (("/main.py", MAIN_PY.encode()), (WASM_PATH, WASM)):
        plain = request(server.url, path=path)
        packed = request(server.url, path=path, headers=GZ)
        assert plain.body == original and "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert gzip.decompress(packed.body) == original
        assert len(packed.body) < len(original) / 2
        assert int(packed.headers["content-length"]) == len(packed.body)
        assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
        assert plain.headers["etag"] != packed.headers["etag"]  # distinct variants


@pytest.mark.parametrize(
    "accept, gzipped",
    [("gzip", True), ("*", True), ("br, gzip;q=0.5", True), ("gzip;q=0", False),
     ("gzip;q=0, *", False), ("br", False), ("identity", False), ("*;q=0", False)],
)
def test_accept_encoding_is_respected(server, accept, gzipped):
    reply = request(server.url, path="/main.py", headers={"Accept-Encoding": accept})
    assert (reply.headers.get("content-encoding") == "gzip") is gzipped
    assert reply.decoded().decode() == MAIN_PY


def test_accept_encoding_parser():
    assert accepts_encoding("x-gzip")
    assert accepts_encoding("GZIP; Q=0.001")
    assert not accepts_encoding("")
    assert not accepts_encoding("gzip;q=zero")


def test_the_gzip_variant_revalidates_with_its_own_etag(server):
    packed = request(server.url, path="/main.py", headers=GZ)
    again = request(server.url, path="/main.py",
                    headers={**GZ, "If-None-Match": packed.headers["etag"]})
    assert again.status == 304
    assert again.headers["etag"] == packed.headers["etag"]
    plain = request(server.url, path="/main.py")
    mixed = request(server.url, path="/main.py",
                    headers={**GZ, "If-None-Match": plain.headers["etag"]})
    assert mixed.status == 200 and mixed.headers["content-encoding"] == "gzip"


def test_small_and_incompressible_files_go_as_they_are(server, site):
    small = request(server.url, path="/boot.js", headers=GZ)
    assert "content-encoding" not in small.headers and "vary" not in small.headers
    wheel = request(server.url, path=f"/runtime/pypi/{WHEEL}", headers=GZ)
    assert "content-encoding" not in wheel.headers  # deflated already: gzip would not pay
    assert wheel.body == site["wheel"].read_bytes()


def test_head_gives_the_length_of_the_variant(server):
    get = request(server.url, path="/main.py", headers=GZ)
    head = request(server.url, "HEAD", "/main.py", headers=GZ)
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-encoding"] == "gzip"


def test_compressed_once_per_version_even_under_concurrent_first_requests(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site)) as server:
        def fetch(_):
            return request(server.url, path="/main.py", headers=GZ)

        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(fetch, range(32)))
        assert all(gzip.decompress(r.body).decode() == MAIN_PY for r in replies)
        assert server.app.cache.compressions == 1

        (site["frame"] / "main.py").write_text(MAIN_PY + "# edited\n")
        edited = request(server.url, path="/main.py", headers=GZ)
        assert gzip.decompress(edited.body).decode().endswith("# edited\n")
        request(server.url, path="/main.py", headers=GZ)
        assert server.app.cache.compressions == 2


def test_runtime_copies_persist_on_disk_across_restarts(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site)) as first:
        assert request(first.url, path=WASM_PATH, headers=GZ).headers["content-encoding"] == "gzip"
        assert first.app.cache.compressions == 1
    assert len(list((site["cache"] / "gzip").glob("*.gz"))) == 1
    with ServerThread(config_for(site)) as second:
        reply = request(second.url, path=WASM_PATH, headers=GZ)
        assert gzip.decompress(reply.body) == WASM
        assert second.app.cache.compressions == 0  # read from the disk cache


def test_a_damaged_disk_copy_is_made_again(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site)) as first:
        request(first.url, path=WASM_PATH, headers=GZ)
    [copy] = (site["cache"] / "gzip").glob("*.gz")
    copy.write_bytes(copy.read_bytes()[:-100])  # truncated, as by a full disk
    with ServerThread(config_for(site)) as second:
        assert gzip.decompress(request(second.url, path=WASM_PATH, headers=GZ).body) == WASM
        assert second.app.cache.compressions == 1


def test_a_new_runtime_version_replaces_the_stale_copy(tmp_path):
    site = make_site(tmp_path)
    wasm = site["runtime"] / "node_modules" / "pyodide" / "pyodide.asm.wasm"
    with ServerThread(config_for(site)) as server:
        request(server.url, path=WASM_PATH, headers=GZ)
        wasm.write_bytes(WASM + b"\x01" * 4096)
        reply = request(server.url, path=WASM_PATH, headers=GZ)
        assert gzip.decompress(reply.body) == WASM + b"\x01" * 4096
    assert len(list((site["cache"] / "gzip").glob("*.gz"))) == 1


def test_precompress_command_warms_the_cache(tmp_path):
    site = make_site(tmp_path)
    done = subprocess.run(
        [sys.executable, SERVER_PY, *map(str, server_args(site)), "--precompress"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Compressed" in done.stdout
    with ServerThread(config_for(site)) as server:
        for path in (WASM_PATH, "/runtime/npm/@pyscript/core@0.7.31/dist/core.js",
                     "/runtime/snapshot/t/py.snapshot"):
            assert request(server.url, path=path, headers=GZ).headers["content-encoding"] == "gzip"
        request(server.url, path=f"/runtime/pypi/{WHEEL}", headers=GZ)
        assert server.app.cache.compressions == 0


def test_without_a_cache_folder_it_still_compresses_in_memory(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site, cache_dir=None)) as server:
        reply = request(server.url, path=WASM_PATH, headers=GZ)
        assert gzip.decompress(reply.body) == WASM
    assert not site["cache"].exists()
