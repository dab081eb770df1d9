"""Bitrix24 as the application's server talks to it: the OAuth server (refresh a portal's tokens,
tell whose a token is) and a portal's REST.

Why not the official ``b24pysdk``: it fixes the OAuth server (``https://oauth.bitrix24.tech``)
and a portal's REST (``https://<domain>/rest``) in its code, where Bitrix24 advises taking the
OAuth server from the ``server_endpoint`` a portal sends and the REST address from its
``client_endpoint``; it is synchronous (requests) under an asynchronous server, and 5 MB with
four dependencies for the three requests this needs. These are those three, on the standard
library, in a thread each, bounded in time and size.

Names under ``.localhost`` go to the loopback address, as RFC 6761 says and browsers do (the
kit's portal stand-ins answer there). Tokens are never logged; errors name the request's
method and host, never its query.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit, urlunsplit

from bx24.form import encode, quote  # Bitrix24's PHP-style form, as the frame sends it

MAX_ANSWER = 1 << 20
DEFAULT_OAUTH_SERVER = "https://oauth.bitrix.info/"
# Bitrix24's OAuth servers (its docs name the first, its SDKs the second): a portal's
# ``server_endpoint`` on one of these, or on the configured server's host, is followed.
KNOWN_OAUTH_HOSTS = ("oauth.bitrix.info", "oauth.bitrix24.tech")


class Bitrix24Error(Exception):
    """An answer that is not a success: ``code`` (Bitrix24's ``error``, or None), ``status``
    (HTTP, or None for no answer at all), ``description``."""

    def __init__(
        self, what: str, code: str | None, description: str = "", status: int | None = None
    ):
        super().__init__(f"{what}: {code or 'error'} {description}".strip())
        self.code = code
        self.description = description
        self.status = status

    @property
    def expired(self) -> bool:
        return self.code == "expired_token"


def _loopback(url: str) -> tuple[str, dict]:
    """``url`` with a ``*.localhost`` host sent to 127.0.0.1 (its Host header kept)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"127.0.0.1{port}")), {"Host": parts.netloc}
    return url, {}


def _fetch(method: str, url: str, body: bytes | None, timeout: float) -> tuple[int, bytes]:
    target, headers = _loopback(url)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(target, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as error:
        return error.code, error.read(MAX_ANSWER + 1)


class PortalClient:
    """The application's credentials (``client_id``, ``client_secret``: never logged, never
    sent anywhere but the OAuth server) and the default OAuth server."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        oauth_server: str = DEFAULT_OAUTH_SERVER,
        timeout: float = 10.0,
    ):
        self.client_id = client_id
        self._secret = client_secret
        self.oauth_server = oauth_server.rstrip("/") + "/"
        self.timeout = timeout

    def __repr__(self) -> str:  # no secret
        return f"PortalClient({self.client_id!r}, oauth_server={self.oauth_server!r})"

    async def _json(self, what: str, method: str, url: str, body: bytes | None = None) -> dict:
        try:
            status, data = await asyncio.to_thread(_fetch, method, url, body, self.timeout)
        except (OSError, ValueError) as error:  # no answer (refused, timeout, bad URL)
            raise Bitrix24Error(what, "NETWORK_ERROR", type(error).__name__) from None
        if len(data) > MAX_ANSWER:
            raise Bitrix24Error(what, None, "the answer is too large", status)
        try:
            answer = json.loads(data or b"{}")
        except ValueError:
            raise Bitrix24Error(what, None, "the answer is not JSON", status) from None
        if not isinstance(answer, dict):
            raise Bitrix24Error(what, None, "the answer is not a JSON object", status)
        if "error" in answer or status >= 400:
            raise Bitrix24Error(
                what,
                str(answer.get("error") or "") or None,
                str(answer.get("error_description") or ""),
                status,
            )
        return answer

    def _oauth(self, server_endpoint: str | None) -> str:
        """Where the secret may go: the origin of a portal's ``server_endpoint`` (Bitrix24
        advises following it) when its host is a known OAuth server's or the configured
        one's, else the configured server. Never an address a request alone names."""
        parts = urlsplit(server_endpoint or "")
        trusted = set(KNOWN_OAUTH_HOSTS) | {urlsplit(self.oauth_server).netloc}
        if (
            parts.scheme in ("https", "http")
            and parts.netloc in trusted
            and (parts.scheme == "https" or parts.netloc not in KNOWN_OAUTH_HOSTS)
        ):
            base = parts.path.rstrip("/")  # "<base>/rest/": the OAuth server's own REST
            base = base[: -len("/rest")] if base.endswith("/rest") else base
            return f"{parts.scheme}://{parts.netloc}{base}/"
        return self.oauth_server

    async def refresh(self, refresh_token: str, server_endpoint: str | None = None) -> dict:
        """New tokens for a refresh token (spent by this: store the new one): the OAuth
        server's answer (``access_token``, ``refresh_token``, ``expires_in``,
        ``client_endpoint``, ``server_endpoint``, ``member_id``, ``domain``...)."""
        query = urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "client_secret": self._secret,
                "refresh_token": refresh_token,
            }
        )
        url = self._oauth(server_endpoint) + "oauth/token/?" + query
        return await self._json("refreshing a token", "GET", url)

    async def token_info(self, access_token: str) -> dict:
        """Whose ``access_token`` is, as the OAuth server knows it: ``client_id``, ``user_id``,
        ``install`` (``member_id``, ``domain``, ``client_endpoint``, ``installed``...)."""
        url = self.oauth_server + "rest/app.info?" + urlencode({"auth": access_token})
        answer = await self._json("checking a token", "GET", url)
        result = answer.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("install"), dict):
            raise Bitrix24Error("checking a token", None, "no install data in app.info")
        return result

    async def call(self, client_endpoint: str, method: str, params: dict, access_token: str):
        """A portal's REST method (``client_endpoint``: ``https://<portal>/rest/``): its
        ``result``; :class:`Bitrix24Error` otherwise (``expired`` for an expired token)."""
        url = client_endpoint.rstrip("/") + "/" + method + ".json"
        body = ("auth=" + quote(access_token) + ("&" + encode(params) if params else "")).encode()
        host = urlsplit(client_endpoint).netloc
        answer = await self._json(f"{method} on {host}", "POST", url, body)
        return answer.get("result")
