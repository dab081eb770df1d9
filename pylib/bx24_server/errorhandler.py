"""Bitrix24's deactivation notice (``POST /error-handler``), kept as one JSON line per notice.

When the frame loads too slowly too often, Bitrix24 unbinds it and posts the reason here
(``ERROR_PLACEMENT_LOADING_OVERTIME`` and a description) to the ``errorHandlerUrl`` given to
``placement.bind``. The operator must then bind again, so the notice must not be lost: it is
appended to a JSON-lines file and announced on stderr. The format is not pinned down by
Bitrix24, so form-urlencoded, multipart and JSON bodies are all read; query-string fields are
kept too. Token-like fields are dropped before anything is written.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from urllib.parse import parse_qsl

from .asgi import HttpError
from .redaction import drop_secrets, printable

log = logging.getLogger("bx24_server")
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
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                          max_num_fields=MAX_FIELDS)
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
            _add(fields, name, payload.decode("utf-8"))
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
            data = json.loads(text)
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


class PlacementErrorLog:
    """Appends notices to a JSON-lines file, one whole line per write (parents created)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, fields: dict, client: str) -> dict:
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "client": client,
            "fields": drop_secrets(fields),
        }
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line)
        error = next(
            (str(v) for k, v in record["fields"].items() if str(k).lower() in ("error", "code")),
            "?",
        )
        log.warning(
            "Bitrix24 posted a placement error (%s): it unbinds a handler that loads too slowly; "
            "bind it again with placement.bind. Logged to %s",
            printable(error[:100]),
            self.path,
        )
        return record
