"""A per-portal ``errorHandlerUrl`` that only this server could have made.

Bitrix24's overtime notice carries no auth data and may not name its portal (its fields:
``error``, ``error_description``). So the server registers a URL of each portal's own,
``error-handler/<member_id>/<signature>``, the signature an HMAC of the member id under a key
derived from the application's client secret (every host of a deployment has it; it never
leaves the server). A notice on such a URL names its portal; one whose signature does not
verify is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re

MEMBER_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
SIGNATURE_CHARS = 32


def signing_key(client_secret: str) -> bytes:
    """The key of the URLs, derived from the client secret (so it rotates with it)."""
    return hmac.new(client_secret.encode(), b"bx24 errorHandlerUrl", hashlib.sha256).digest()


def signature(key: bytes, member_id: str) -> str:
    return hmac.new(key, member_id.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def error_handler_path(key: bytes, member_id: str, prefix: str = "error-handler") -> str:
    """``<prefix>/<member_id>/<signature>``: relative to the server's root."""
    if not MEMBER_ID.fullmatch(member_id or ""):
        raise ValueError(f"not a portal's member id: {member_id!r}")
    return f"{prefix}/{member_id}/{signature(key, member_id)}"


def verify(key: bytes, member_id: str, given: str) -> bool:
    return bool(MEMBER_ID.fullmatch(member_id or "")) and hmac.compare_digest(
        signature(key, member_id), given or ""
    )
