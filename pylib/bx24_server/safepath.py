"""Mapping a URL path onto a file inside one served folder, and nowhere else.

Every way out is refused before the file system is touched (``..``, encoded or double-encoded
dots and slashes, backslashes, NUL and control bytes, empty segments such as ``//etc``, hidden
``.names``), and what survives is resolved through its symlinks and must still lie inside the
folder's real path. Directories are never files here, so there are no listings.
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
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


@lru_cache(maxsize=256)
def _real_root(root: str) -> str:
    """A served folder's real path, resolved once per process (it is not expected to move)."""
    return os.path.realpath(root)


def resolve_file(root: str | os.PathLike, segments: list[str]) -> str | None:
    """The real path of the regular file that the checked ``segments`` name under ``root``,
    or ``None`` (missing, not a regular file, or a symlink leading out of ``root``).

    Walks down from the folder with one ``lstat`` per segment; only when a segment is a
    symlink is the rest resolved with ``realpath`` and checked to still be inside."""
    if not segments:
        return None
    real_root = _real_root(os.fspath(root))
    inside = real_root.rstrip(os.sep) + os.sep
    path = real_root
    try:
        for index, segment in enumerate(segments):
            path = path + os.sep + segment
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                path = os.path.realpath(os.path.join(path, *segments[index + 1 :]))
                if not path.startswith(inside):
                    return None  # a symlink pointing out of the folder
                st = os.stat(path)
                break
    except OSError:
        return None
    return path if stat.S_ISREG(st.st_mode) else None
