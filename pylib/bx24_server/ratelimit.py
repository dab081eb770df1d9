"""How much one client may post (Bitrix24's notices, frames' reports): a token bucket per client
address, one budget for all of the server's worker processes.

The buckets live in a small table in shared memory, made before the workers are forked
(``--workers N`` must not mean N times the limit), guarded by a POSIX record lock (released by
the kernel if a worker dies holding it) and a thread lock. The table is bounded: a client is
found by its hash in a few slots, and when they are all taken the least recently seen client in
them is forgotten.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import struct
import tempfile
import threading
import time

_SLOT = struct.Struct("<Qdd")  # client hash (0: free), tokens, when they were counted
PROBES = 8


class RateLimiter:
    """A token bucket per client: ``burst`` at once, then ``per_minute``; about ``max_clients``
    remembered. Shared with the processes forked after it is made."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.slots = max(PROBES, max_clients)
        self._file = tempfile.TemporaryFile()  # unlinked; its pages are the shared table
        self._file.truncate(self.slots * _SLOT.size)
        self._table = mmap.mmap(self._file.fileno(), self.slots * _SLOT.size)  # MAP_SHARED
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        key = (
            int.from_bytes(
                hashlib.blake2b(client.encode("utf-8", "surrogateescape"), digest_size=8).digest(),
                "little",
            )
            or 1
        )
        first = key % self.slots
        with self._lock:
            fcntl.lockf(self._file, fcntl.LOCK_EX)
            try:
                # read under the lock (one clock for every process): a time taken before it
                # could be earlier than the one another worker just wrote
                at = time.monotonic() if now is None else now
                slot, tokens, since = self._find(key, first)
                tokens = (
                    float(self.burst)
                    if since is None
                    else min(self.burst, tokens + max(0.0, at - since) * self.rate)
                )
                allowed = tokens >= 1
                _SLOT.pack_into(
                    self._table, slot * _SLOT.size, key, tokens - 1 if allowed else tokens, at
                )
                return allowed
            finally:
                fcntl.lockf(self._file, fcntl.LOCK_UN)

    def _find(self, key: int, first: int) -> tuple[int, float, float | None]:
        """The client's slot and bucket (``since`` None: new), else the slot to take."""
        oldest: tuple[int, float] | None = None
        for probe in range(PROBES):
            slot = (first + probe) % self.slots
            held, tokens, since = _SLOT.unpack_from(self._table, slot * _SLOT.size)
            if held == key:
                return slot, tokens, since
            if held == 0:
                return slot, 0.0, None
            if oldest is None or since < oldest[1]:
                oldest = (slot, since)
        assert oldest is not None  # PROBES > 0 slots were looked at
        return oldest[0], 0.0, None

    def clients(self) -> int:
        """How many clients are remembered now."""
        with self._lock:
            return sum(
                1
                for slot in range(self.slots)
                if _SLOT.unpack_from(self._table, slot * _SLOT.size)[0]
            )

    def retry_after(self) -> int:
        return max(1, math.ceil(1 / self.rate)) if self.rate > 0 else 60
