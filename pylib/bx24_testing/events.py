"""What Bitrix24 sends the application's server, for server-side tests: its events
(``ONAPPINSTALL``, ``ONAPPUNINSTALL``...) and the overtime notice, from a
:class:`~bx24_testing.bitrix24.Portal`, POSTed as Bitrix24 posts them (form fields,
``auth[...]`` keys PHP-style).

    from bx24_testing.events import send_event, send_overtime

    send_event(server.url + "bx24-events", portal, "ONAPPINSTALL")
    send_overtime(portal)       # the worker's binding deleted, the notice to its errorHandlerUrl
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode

from .bitrix24 import Portal


def post_form(url: str, fields: dict, timeout: float = 10.0) -> tuple[int, str]:
    """POST ``fields`` form-encoded to ``url``: the answer's status and text."""
    body = urlencode(list(fields.items())).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def send_event(url: str, portal: Portal, event: str, **data) -> tuple[int, str]:
    """Bitrix24's ``event`` for ``portal`` (its fields: :meth:`Portal.event_bodies`)."""
    return post_form(url, portal.event_bodies(event, **data))


def send_overtime(portal: Portal, url: str | None = None) -> tuple[int, str]:
    """Bitrix24's 5-second rule fires on ``portal``: the worker's binding is deleted and the
    notice goes to its ``errorHandlerUrl`` (or ``url``), without any auth data."""
    notice = portal.overtime()
    target = url or notice["url"]
    if not target:
        raise AssertionError("no worker was bound: the notice has nowhere to go")
    return post_form(target, notice["fields"])
