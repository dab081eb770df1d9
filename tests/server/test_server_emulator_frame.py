"""``bx24 serve --emulator``: ``/?emulator`` is the frame as the emulator embeds it, with the stub
and the SIP stand-in in place of Bitrix24's library, both served beside the emulator."""

from server_helpers import request

BX24_LIBRARY = '<script src="https://api.bitrix24.com/api/v1/"></script>'
STUB = ('<script src="emulator/bx24-stub.js"></script>\n'
        '  <script src="emulator/sip-stub.js"></script>')


def test_emulator_query_swaps_only_the_bx24_script(server):
    production = request(server.url).text
    page = request(server.url, path="/?emulator&interpreter=micropython")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert BX24_LIBRARY in production
    assert page.text == production.replace(BX24_LIBRARY, STUB)
    assert request(server.url, "HEAD", "/?emulator").body == b""


def test_production_page_is_untouched_without_the_query(server):
    production = request(server.url).text
    assert request(server.url, path="/?interpreter=micropython").text == production
    # Bitrix24 POSTs: never the emulator page, whatever the query says.
    assert request(server.url, "POST", "/?emulator", body=b"").text == production


def test_stub_is_served_beside_the_emulator(server):
    stub = request(server.url, path="/emulator/bx24-stub.js")
    assert stub.status == 200 and "window.BX24Stub" in stub.decoded().decode()
    assert stub.headers["content-type"].startswith("text/javascript")


def test_sip_stand_in_is_served_beside_the_emulator(server):
    script = request(server.url, path="/emulator/sip-stub.js")
    assert script.status == 200 and "window.bx24SipStandIn" in script.decoded().decode()
