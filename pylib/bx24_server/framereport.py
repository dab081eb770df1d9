"""``POST /frame-report``: what the frames in operators' browsers report about themselves.

A frame runs hidden in each operator's browser: a boot that fails, a boot watchdog that fires,
or a Python error in a handler would otherwise stay in a console nobody looks at. The frame's
boot loader sends them here (``bx24_frame/page/boot.js``), one JSON object each:
``{"kind": "boot" | "watchdog" | "python" | "recovered", "message": ..., "interpreter": ...,
"uri": <PLACEMENT_OPTIONS.URI>, "at": <ms since the page started>}``. Each is kept as one JSON
line with the time, the client's address and user agent, bounded and without secrets
(:mod:`.noticelog`).
"""

from __future__ import annotations

from .asgi import HttpError
from .errorhandler import utc_now
from .noticelog import NoticeLog, loads, sanitize

KINDS = ("boot", "watchdog", "python", "recovered")


def parse_report(body: bytes) -> dict:
    """The report's fields; :class:`HttpError` 400 when it is not a JSON object of them."""
    try:
        data = loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "a frame report is a JSON object") from None
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        raise HttpError(400, f"a frame report is a JSON object with a kind in {', '.join(KINDS)}")
    return data


class FrameReportLog:
    def __init__(self, log: NoticeLog):
        self.log = log

    def append(self, report: dict, client: str, user_agent: str) -> dict:
        record = {
            "time": utc_now(),
            "client": client,
            "user_agent": sanitize(user_agent[:300]),
            "report": sanitize(report),
        }
        self.log.append(record)
        return record
