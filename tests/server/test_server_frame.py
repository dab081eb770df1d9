"""``/``: the handler page Bitrix24 loads with a POST full of secrets."""

from urllib.parse import urlencode

from server_helpers import INDEX_HTML, request

BITRIX24_FORM = {
    "AUTH_ID": "auth-token-1f2e3d", "AUTH_EXPIRES": "3600", "REFRESH_ID": "refresh-token-9a8b7c",
    "SERVER_ENDPOINT": "https://oauth.bitrix.info/rest/", "member_id": "m1", "status": "L",
    "PLACEMENT": "PAGE_BACKGROUND_WORKER",
    "PLACEMENT_OPTIONS": '{"ID":"PAGE_BACKGROUND_WORKER","URI":"/crm/deal/"}',
}


def test_get_head_and_post_all_return_the_frame(server):
    get = request(server.url)
    assert get.status == 200
    assert get.text == INDEX_HTML
    assert get.headers["content-type"] == "text/html; charset=utf-8"
    assert get.headers["cache-control"] == "no-cache"
    assert get.headers["etag"]

    head = request(server.url, "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(INDEX_HTML))
    assert head.headers["etag"] == get.headers["etag"]

    post = request(
        server.url, "POST", "/?DOMAIN=portal.bitrix24.ru&PROTOCOL=1&LANG=ru&APP_SID=s1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(BITRIX24_FORM),
    )
    assert post.status == 200
    assert post.text == INDEX_HTML  # nothing of the form is echoed
    for value in BITRIX24_FORM.values():
        assert value.encode() not in post.body
        assert all(value not in v for v in post.headers.values())


def test_revalidation_gets_304(server):
    first = request(server.url)
    again = request(server.url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status == 304 and again.body == b""
    assert again.headers["etag"] == first.headers["etag"]
    since = request(server.url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status == 304


def test_edited_frame_is_served_at_once(server, site):
    before = request(server.url)
    index = site["frame"] / "index.html"
    original = index.read_text()
    try:
        index.write_text(original + "<!-- edited -->\n")
        after = request(server.url, headers={"If-None-Match": before.headers["etag"]})
        assert after.status == 200
        assert after.text.endswith("<!-- edited -->\n")
        assert after.headers["etag"] != before.headers["etag"]
    finally:
        index.write_text(original)


def test_other_methods_are_405_with_allow(server):
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        reply = request(server.url, method)
        assert reply.status == 405, method
        assert reply.headers["allow"] == "GET, HEAD, POST"


def test_files_do_not_take_post(server):
    reply = request(server.url, "POST", "/main.py", body=b"x=1")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, HEAD"
