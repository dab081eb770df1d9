"""``/?emulator`` and ``/emulator/bx24-stub.js``: the frame as the emulator embeds it."""

import pytest

from bx24_server.background import ServerProcess
from server_helpers import SERVER_PY, make_site, request, server_args, write

PRODUCTION_INDEX = (
    '<!doctype html><script src="https://api.bitrix24.com/api/v1/"></script>'
    '<script src="pylib/bx24/bridge.js"></script><body hidden></body>\n')
STUB = "window.BX24 = {stub: true};\n"


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    site = make_site(tmp_path_factory.mktemp("site"))
    write(site["frame"] / "index.html", PRODUCTION_INDEX)
    write(site["root"] / "bx24-stub.js", STUB)  # beside the emulator folder, as in the package
    with ServerProcess(server_args(site), script=SERVER_PY) as running:
        yield running, site


def test_emulator_query_swaps_only_the_bx24_script(emulated):
    server, _ = emulated
    page = request(server.url, path="/?emulator&interpreter=micropython")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.text == PRODUCTION_INDEX.replace(
        "https://api.bitrix24.com/api/v1/", "/emulator/bx24-stub.js")
    assert request(server.url, "HEAD", "/?emulator").body == b""


def test_production_page_is_untouched_without_the_query(emulated):
    server, _ = emulated
    assert request(server.url).text == PRODUCTION_INDEX
    assert request(server.url, path="/?interpreter=micropython").text == PRODUCTION_INDEX
    # Bitrix24 POSTs: never the emulator page, whatever the query says.
    assert request(server.url, "POST", "/?emulator", body=b"").text == PRODUCTION_INDEX


def test_stub_is_served_beside_the_emulator(emulated):
    server, _ = emulated
    stub = request(server.url, path="/emulator/bx24-stub.js")
    assert stub.status == 200 and stub.decoded().decode() == STUB
    assert stub.headers["content-type"].startswith("text/javascript")


def test_a_frame_without_the_bx24_url_cannot_be_emulated(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(server_args(site), script=SERVER_PY) as server:
        answer = request(server.url, path="/?emulator")
    assert answer.status == 500
    assert b"does not load BX24" in answer.body
