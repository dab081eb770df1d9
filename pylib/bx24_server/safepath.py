"""Mapping a URL path onto a file inside one served folder, and nowhere else.

Every way out is refused before the file system is touched (``..``, encoded or double-encoded
dots and slashes, backslashes, NUL and control bytes, empty segments such as ``//etc``, hidden
``.names``), and what survives is resolved through its symlinks and must still lie inside the
folder's real path. Directories are never files here, so there are no listings.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import unquote_to_bytes


def url_segments(raw_path: bytes) -> list[str] | None:
    """The decoded segments of a ``/``-separated raw (percent-encoded) URL path, or ``None``
    when any segment could step outside, hide, or smuggle a separator."""
    if b"\\" in raw_path or b"\x00" in raw_path:
        return None
    segments = []
    for raw in raw_path.split(b"/"):
        try:
            segment = unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if (
            not segment
            or segment.startswith(".")  # ".", "..", and hidden files such as .env or .git
            or "%" in segment  # double encoding: %252e decodes to %2e, never a real name here
            or any(c in segment for c in "/\\")
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in segment)
        ):
            return None
        segments.append(segment)
    return segments


def resolve_file(root: Path, segments: list[str]) -> Path | None:
    """The real path of the regular file that the checked ``segments`` name under ``root``,
    or ``None`` (missing, not a regular file, or a symlink leading out of ``root``)."""
    if not segments:
        return None
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, *segments))
    if not real.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None
    except OSError:
        return None
    return Path(real)
