"""``bx24 serve --emulator``: ``/?emulator`` is the frame as the emulator embeds it, with the
card's description, the stub and the SIP stand-in in place of Bitrix24's library, all served
beside the emulator; the emulator page is the frame's portal (REST and the frame's session)."""

from server_helpers import request

BX24_LIBRARY = '<script src="https://api.bitrix24.com/api/v1/"></script>'
STUB = (
    '<script src="emulator/bx24-model.js"></script>\n'
    '  <script src="emulator/bx24-stub.js"></script>\n'
    '  <script src="emulator/sip-stub.js"></script>'
)


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


def test_the_cards_description_is_served_for_the_stub(server):
    import json

    from bx24_testing.cardmodel import describe

    script = request(server.url, path="/emulator/bx24-model.js").text
    assert script.startswith("window.BX24_MODEL = ")
    assert json.loads(script.split(" = ", 1)[1].rstrip(";\n")) == describe()


def test_the_emulator_page_is_the_frames_portal(server):
    import json

    session = request(
        server.url,
        "POST",
        "/_bx24portal/session",
        body=json.dumps({"user": 1}),
        headers={"Content-Type": "text/plain"},
    )
    assert session.status == 200
    answer = json.loads(session.text)
    host = server.url.split("//", 1)[1].rstrip("/")
    assert answer["name"].startswith(host + "|0|") and answer["init"]["DOMAIN"] == host
    token = answer["init"]["AUTH_ID"]
    me = request(
        server.url,
        "POST",
        "/rest/user.current.json",
        body=f"auth={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert me.status == 200 and json.loads(me.text)["result"]["ID"] == "1"
    assert me.headers["access-control-allow-origin"] == "*"
