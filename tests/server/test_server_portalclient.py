"""Where the application's server sends its client secret, and the per-portal errorHandlerUrl's
signature: pure functions, checked directly."""

from bx24_server.portalclient import PortalClient
from bx24_server.signing import error_handler_path, signing_key, verify


def test_the_secret_goes_only_to_an_oauth_server():
    client = PortalClient("local.1", "secret", "https://oauth.example.test/")
    where = client._oauth
    assert where(None) == "https://oauth.example.test/"
    assert where("https://oauth.bitrix.info/rest/") == "https://oauth.bitrix.info/"
    assert where("https://oauth.bitrix24.tech/rest/") == "https://oauth.bitrix24.tech/"
    assert where("https://oauth.example.test/rest/") == "https://oauth.example.test/"
    for named in (
        "https://evil.example.com/rest/",
        "http://oauth.bitrix.info/rest/",
        "https://oauth.bitrix.info.evil.com/rest/",
        "javascript:alert(1)",
        "https://user@evil.com/rest/",
        "//oauth.bitrix.info/rest/",
    ):
        assert where(named) == "https://oauth.example.test/", named
    assert "secret" not in repr(client)


def test_an_error_handler_url_names_its_portal_and_cannot_be_forged():
    key = signing_key("the client secret")
    path = error_handler_path(key, "abc123")
    prefix, member, signature = path.split("/")
    assert (prefix, member) == ("error-handler", "abc123")
    assert verify(key, "abc123", signature)
    assert not verify(key, "abc124", signature)
    assert not verify(signing_key("another secret"), "abc123", signature)
    assert not verify(key, "abc123", signature[:-1] + "0")
    assert not verify(key, "../x", signature)
