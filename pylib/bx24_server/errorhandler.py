"""Bitrix24's deactivation notice (``POST /error-handler``), kept as one JSON line per notice.

When the frame loads too slowly too often, Bitrix24 unbinds it and posts the reason here
(``ERROR_PLACEMENT_LOADING_OVERTIME`` and a description) to the ``errorHandlerUrl`` given to
``placement.bind``. The operator must then bind again, so the notice must not be lost: it is
appended to a JSON-lines file (bounded: :mod:`.noticelog`) and announced on stderr; one that
cannot be stored is still shown on stderr and answered 503, so that the sender retries. The
format is not pinned down by Bitrix24, so form-urlencoded, multipart and JSON bodies are all
read; query-string fields are kept too. Token-like fields are dropped before anything is
written.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from .asgi import HttpError
from .noticelog import NoticeLog, Throttled, loads, sanitize
from .redaction import printable

logger = logging.getLogger("bx24_server")
MAX_FIELDS = 200


def _add(fields: dict, key: str, value) -> None:
    """Repeated form keys become lists, as nothing may be silently dropped."""
    if key in fields:
        previous = fields[key]
        fields[key] = previous + [value] if isinstance(previous, list) else [previous, value]
    else:
        fields[key] = value


def _form_fields(text: str, what: str) -> dict:
    fields: dict = {}
    if not text:
        return fields
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise HttpError(400, f"malformed {what}: expected key=value pairs joined by &") from None
    for key, value in pairs:
        _add(fields, key, value)
    return fields


def _multipart_fields(content_type: str, body: bytes) -> dict:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart() or message.defects:
        raise HttpError(400, "malformed multipart/form-data body")
    fields: dict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise HttpError(400, "malformed multipart/form-data body: a part has no name")
        payload = part.get_payload(decode=True) or b""
        try:
            _add(fields, str(name), bytes(payload).decode("utf-8"))
        except UnicodeDecodeError:
            raise HttpError(400, "multipart field is not UTF-8 text") from None
    return fields


def parse_notice(content_type: str, body: bytes, query: bytes) -> dict:
    """The notice's fields (query string, then body); :class:`HttpError` 400/415 when malformed."""
    try:
        fields = _form_fields(query.decode("utf-8"), "query string")
        text = body.decode("utf-8") if not content_type.lower().startswith("multipart/") else ""
    except UnicodeDecodeError:
        raise HttpError(400, "the notice is not UTF-8 text") from None
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json" or (not mime and text.lstrip().startswith("{")):
        try:
            data = loads(text)
        except ValueError:
            raise HttpError(400, "malformed JSON body") from None
        if not isinstance(data, dict):
            raise HttpError(400, "the JSON body must be an object of fields")
        fields.update(data)
    elif mime in ("application/x-www-form-urlencoded", "text/plain", ""):
        for key, value in _form_fields(text.strip(), "form body").items():
            _add(fields, key, value)
    elif mime == "multipart/form-data":
        for key, value in _multipart_fields(content_type, body).items():
            _add(fields, key, value)
    else:
        raise HttpError(
            415, f"unsupported notice type {printable(mime)}: send form fields or a JSON object"
        )
    if not fields:
        raise HttpError(400, "empty notice: expected Bitrix24's error fields (form or JSON)")
    return fields


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlacementErrorLog:
    """Bitrix24's notices as JSON lines in a :class:`~.noticelog.NoticeLog`."""

    def __init__(self, log: NoticeLog):
        self.log = log
        self.announce = Throttled(logger, 10.0)
        self.unstored = Throttled(logger, 1.0)

    @property
    def path(self):
        return self.log.path

    def append(self, fields: dict, client: str) -> dict:
        """Store one notice; :class:`~.noticelog.NoticeNotStored` when it cannot be."""
        record = {"time": utc_now(), "client": client, "fields": sanitize(fields)}
        error = next(
            (str(v) for k, v in record["fields"].items() if str(k).lower() in ("error", "code")),
            "?",
        )
        try:
            self.log.append(record)
        except OSError as failure:
            self.unstored.warning(
                "Bitrix24 posted a placement error that could not be stored (%s): %s",
                failure,
                printable(json.dumps(record)[:2000]),
            )
            raise
        self.announce.warning(
            "Bitrix24 posted a placement error (%s): it unbinds a handler that loads too slowly; "
            "bind it again with placement.bind. Logged to %s",
            printable(error[:100]),
            self.log.path,
        )
        return record
