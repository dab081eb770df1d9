"""One appender for every log the server writes (access log, Bitrix24's notices, frames'
reports): whole lines, bounded on disk, safe with several worker processes and with logrotate.

- each line is one ``write`` on an ``O_APPEND`` descriptor, under an exclusive ``flock`` that the
  server's workers share;
- under the lock, the descriptor is checked to still be the file at ``path`` (same device and
  inode): a file that another worker rotated, or that logrotate moved away, is never written
  again (a record written there could land in a file about to be deleted: acknowledged, then
  lost). The file at ``path`` is opened instead, created if need be;
- past ``max_bytes`` the file becomes ``path.1`` (``path.1`` ``path.2``... up to ``keep``);
- a torn last line (a full disk, a process killed mid-write) is cut off before the next line is
  written, so an acknowledged line is never glued to one;
- :meth:`LogFile.reopen` (the server calls it on SIGHUP) closes the descriptor: the next line
  goes to whatever file is at ``path`` then.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

MAX_LINE = 32 * 1024  # how far back a torn line is looked for
MODE = 0o640


class LogFile:
    """Appends lines to ``path``, rotated past ``max_bytes`` with ``keep`` old files (see the
    module doc). :meth:`write` raises OSError when the line could not be written whole."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = 10 * 2**20, keep: int = 5):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self._fd: int | None = None
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Write ``data`` (one or more whole lines) at the end of the log, or raise OSError."""
        with self._lock:
            fd = self._current()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                while not self._is_current(fd):  # rotated or moved since it was opened
                    fd = self._reopen(fd)
                if self._full(fd, len(data)):
                    self._rotate()
                    fd = self._reopen(fd)
                _repair(fd)
                written = os.write(fd, data)
                if written != len(data):
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
                    raise OSError(f"short write ({written} of {len(data)} bytes)")
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reopen(self) -> None:
        """Close the file: the next line goes to the file at ``path`` then (SIGHUP)."""
        with self._lock:
            self._close()

    close = reopen

    # -- under the lock -----------------------------------------------------------------------

    def _current(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, MODE)
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _is_current(self, fd: int) -> bool:
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            return False
        here = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def _reopen(self, fd: int) -> int:
        """The file now at ``path``, locked; the old descriptor closed."""
        self._close()
        fresh = self._current()
        fcntl.flock(fresh, fcntl.LOCK_EX)
        return fresh

    def _full(self, fd: int, adding: int) -> bool:
        size = os.fstat(fd).st_size
        return size > 0 and size + adding > self.max_bytes

    def _rotate(self) -> None:
        for number in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self.keep > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            os.unlink(self.path)


def _repair(fd: int) -> None:
    """Cut a torn last line (no newline at its end): it was never acknowledged."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    start = max(0, size - MAX_LINE - 1)
    cut = os.pread(fd, size - start, start).rfind(b"\n")
    os.ftruncate(fd, start + cut + 1 if cut >= 0 else start)
