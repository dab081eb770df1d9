"""gzip of text, wasm and zips when accepted, made once per file version, never per request."""

import gzip
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from bx24_frame import layout
from bx24_server.background import ServerThread
from bx24_frame.cli import compress_brotli
from bx24_server.compression import accepts_encoding, brotli_jobs, brotli_made
from bx24_server.config import Config
from server_helpers import (
    BX24,
    MAIN_PY,
    WASM,
    env_for,
    make_site,
    npm_path,
    request,
    url_of,
)

GZ = {"Accept-Encoding": "gzip, deflate"}


def wasm_path(site):
    return npm_path(site, "pyodide", "pyodide.asm.wasm")


def config_for(site, **overrides):
    settings = dict(port=0, error_log=site["error_log"], access_log=None, cache_dir=site["cache"])
    settings.update(overrides)
    return Config(**settings)


def test_text_and_wasm_are_gzipped_when_accepted(server, site):
    main = url_of(site, layout.APP, "main.py")
    for path, original in ((main, MAIN_PY.encode()), (wasm_path(site), WASM)):
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
    [
        ("gzip", True),
        ("*", True),
        ("br, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("br", False),
        ("identity", False),
        ("*;q=0", False),
    ],
)
def test_accept_encoding_is_respected(server, site, accept, gzipped):
    reply = request(
        server.url, path=url_of(site, layout.APP, "main.py"), headers={"Accept-Encoding": accept}
    )
    assert (reply.headers.get("content-encoding") == "gzip") is gzipped
    assert reply.decoded().decode() == MAIN_PY


def test_accept_encoding_parser():
    assert accepts_encoding("x-gzip")
    assert accepts_encoding("GZIP; Q=0.001")
    assert not accepts_encoding("")
    assert not accepts_encoding("gzip;q=zero")


def test_the_gzip_variant_revalidates_with_its_own_etag(server, site):
    main = url_of(site, layout.APP, "main.py")
    packed = request(server.url, path=main, headers=GZ)
    again = request(server.url, path=main, headers={**GZ, "If-None-Match": packed.headers["etag"]})
    assert again.status == 304
    assert again.headers["etag"] == packed.headers["etag"]
    plain = request(server.url, path=main)
    mixed = request(server.url, path=main, headers={**GZ, "If-None-Match": plain.headers["etag"]})
    assert mixed.status == 200 and mixed.headers["content-encoding"] == "gzip"


def test_small_and_incompressible_files_go_as_they_are(server, site):
    small = request(server.url, path=url_of(site, layout.APP, "extra/notes.txt"), headers=GZ)
    assert "content-encoding" not in small.headers and "vary" not in small.headers
    wheel = request(server.url, path=f"/runtime/pypi/{site['wheel'].name}", headers=GZ)
    assert "content-encoding" not in wheel.headers  # deflated already: gzip would not pay
    assert wheel.body == site["wheel"].read_bytes()


def test_head_gives_the_length_of_the_variant(server, site):
    main = url_of(site, layout.APP, "main.py")
    get = request(server.url, path=main, headers=GZ)
    head = request(server.url, "HEAD", main, headers=GZ)
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-encoding"] == "gzip"


def test_compressed_once_per_version_even_under_concurrent_first_requests(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site), site["site"]) as server:
        main = url_of(site, layout.APP, "main.py")

        def fetch(_):
            return request(server.url, path=main, headers=GZ)

        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(fetch, range(32)))
        assert all(gzip.decompress(r.body).decode() == MAIN_PY for r in replies)
        assert server.app.cache.compressions == 1

        (site["app"] / "main.py").write_text(MAIN_PY + "# edited\n")
        main = url_of(site, layout.APP, "main.py")
        edited = request(server.url, path=main, headers=GZ)
        assert gzip.decompress(edited.body).decode().endswith("# edited\n")
        request(server.url, path=main, headers=GZ)
        assert server.app.cache.compressions == 2


def test_runtime_copies_persist_on_disk_across_restarts(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site), site["site"]) as first:
        assert (
            request(first.url, path=wasm_path(site), headers=GZ).headers["content-encoding"]
            == "gzip"
        )
        assert first.app.cache.compressions == 1
    assert len(list((site["cache"] / "gzip").glob("*.gz"))) == 1
    with ServerThread(config_for(site), site["site"]) as second:
        reply = request(second.url, path=wasm_path(site), headers=GZ)
        assert gzip.decompress(reply.body) == WASM
        assert second.app.cache.compressions == 0  # read from the disk cache


def test_a_damaged_disk_copy_is_made_again(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site), site["site"]) as first:
        request(first.url, path=wasm_path(site), headers=GZ)
    [copy] = (site["cache"] / "gzip").glob("*.gz")
    copy.write_bytes(copy.read_bytes()[:-100])  # truncated, as by a full disk
    with ServerThread(config_for(site), site["site"]) as second:
        assert gzip.decompress(request(second.url, path=wasm_path(site), headers=GZ).body) == WASM
        assert second.app.cache.compressions == 1


def test_a_new_runtime_version_replaces_the_stale_copy(tmp_path):
    site = make_site(tmp_path)
    wasm = site["runtime"].package_dir("pyodide") / "pyodide.asm.wasm"
    with ServerThread(config_for(site), site["site"]) as server:
        request(server.url, path=wasm_path(site), headers=GZ)
        wasm.write_bytes(WASM + b"\x01" * 4096)
        reply = request(server.url, path=wasm_path(site), headers=GZ)
        assert gzip.decompress(reply.body) == WASM + b"\x01" * 4096
    assert len(list((site["cache"] / "gzip").glob("*.gz"))) == 1


def test_setup_precompresses_the_runtime_once(tmp_path):
    site = make_site(tmp_path)
    done = subprocess.run(
        [*BX24, "setup", "--project", str(site["project"])],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_for(site),
    )
    assert done.returncode == 0, done.stderr
    assert "served gzipped" in done.stderr
    with ServerThread(config_for(site), site["site"]) as server:
        for path in (
            wasm_path(site),
            npm_path(site, "@pyscript/core", "dist/core.js"),
            f"/runtime/snapshot/{site['snapshot'].name}",
        ):
            assert request(server.url, path=path, headers=GZ).headers["content-encoding"] == "gzip"
        request(server.url, path=f"/runtime/pypi/{site['wheel'].name}", headers=GZ)
        assert server.app.cache.compressions == 0


def test_without_a_cache_folder_it_still_compresses_in_memory(tmp_path):
    site = make_site(tmp_path)
    with ServerThread(config_for(site, cache_dir=None), site["site"]) as server:
        reply = request(server.url, path=wasm_path(site), headers=GZ)
        assert gzip.decompress(reply.body) == WASM
    assert not (site["cache"] / "gzip").exists()


BR = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def brotli_copies(site, content=b"BROTLI-BYTES"):
    """The set-up's brotli copies of the site's large runtime files, faked: the server only
    sends them, it never decodes one."""
    jobs = brotli_jobs(site["site"].mounts, site["cache"])
    for _, copy in jobs:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(content)
    return jobs


def test_brotli_copies_of_the_set_up_go_to_clients_that_take_them(tmp_path):
    site = make_site(tmp_path)
    jobs = brotli_copies(site)
    assert {source.name for source, _ in jobs} == {
        "pyodide.asm.wasm",
        "micropython.wasm",
        site["snapshot"].name,
    }
    with ServerThread(config_for(site), site["site"]) as server:
        wasm = wasm_path(site)
        packed = request(server.url, path=wasm, headers=BR)
        assert packed.headers["content-encoding"] == "br" and packed.body == b"BROTLI-BYTES"
        assert packed.headers["vary"] == "Accept-Encoding"
        assert int(packed.headers["content-length"]) == len(b"BROTLI-BYTES")
        gzipped = request(server.url, path=wasm, headers=GZ)  # plain HTTP clients: no br
        assert gzipped.headers["content-encoding"] == "gzip"
        assert (
            len(
                {
                    packed.headers["etag"],
                    gzipped.headers["etag"],
                    request(server.url, path=wasm).headers["etag"],
                }
            )
            == 3
        )
        again = request(
            server.url, path=wasm, headers={**BR, "If-None-Match": packed.headers["etag"]}
        )
        assert again.status == 304
        head = request(server.url, path=wasm, headers=BR, method="HEAD")
        assert head.headers["content-encoding"] == "br" and head.body == b""
        # small files have no copy: gzip as before
        main = request(server.url, path=url_of(site, layout.APP, "main.py"), headers=BR)
        assert main.headers["content-encoding"] == "gzip"


def test_a_brotli_copy_that_did_not_pay_is_not_sent_nor_made_again(tmp_path):
    site = make_site(tmp_path)
    jobs = brotli_copies(site, content=b"x" * len(WASM))  # no smaller than the file
    assert brotli_made(jobs, {str(copy): len(WASM) for _, copy in jobs}) == 0
    assert all(copy.stat().st_size == 0 for _, copy in jobs)  # the marker
    with ServerThread(config_for(site), site["site"]) as server:
        reply = request(server.url, path=wasm_path(site), headers=BR)
        assert reply.headers["content-encoding"] == "gzip"
    assert brotli_jobs(site["site"].mounts, site["cache"]) == []


def test_the_set_up_makes_real_brotli_copies_with_node(tmp_path):
    """bx24 setup's compressor (brotli.mjs): what it writes, Node's zlib decodes to the file."""
    site = make_site(tmp_path)
    jobs = brotli_jobs(site["site"].mounts, site["cache"])
    assert compress_brotli(site["site"].mounts, site["cache"]) == 3
    for source, copy in jobs:
        decoded = subprocess.run(
            [
                "node",
                "-e",
                "process.stdout.write(require('zlib').brotliDecompressSync("
                "require('fs').readFileSync(process.argv[1])))",
                str(copy),
            ],
            capture_output=True,
            check=True,
        ).stdout
        assert decoded == source.read_bytes(), source
    assert compress_brotli(site["site"].mounts, site["cache"]) is None  # nothing left to make
