"""Compressed copies of served files, made once per file version and never per request.

A file version is its real path plus what changes when its content does (size, mtime, ctime,
inode: npm gives every installed file the same 1985 mtime, so mtime alone would not do).
Copies live in a bounded in-memory LRU; those of the large pinned files (the mounts marked
``persist``) are also kept on disk under the cache folder, so a restart (or the set-up's
:func:`precompress`) pays once.
A copy that does not save at least 10% (a deflated .whl, Pyodide's stdlib zip) is not used:
the identity bytes are served instead.

gzip is made here, on demand (stdlib). Brotli at quality 11 is a quarter to a third smaller on
the largest files (pyodide.asm.wasm, the Pyodide snapshot) but takes tens of seconds per file:
it is made once, by the set-up (``bx24_frame/brotli.mjs``: Node's zlib, no compiled Python
dependency), for the large files of the ``persist`` mounts, and only read here
(:meth:`EncodedCache.brotli_copy`). Browsers ask for it over HTTPS only.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import tempfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .mediatypes import media_type

GZIP = "gzip"
BROTLI = "br"
BROTLI_MIN_SIZE = 32 * 1024  # smaller files: brotli's gain over gzip is a few hundred bytes
MIN_SIZE = 1024  # smaller files gain too little to be worth a second variant
WORTH_RATIO = 0.9  # keep a copy only when it is at most this fraction of the original
_NOT_WORTH = b""  # memory marker: compressed once, did not pay


class FileVersion:
    """What identifies one version of a file's content, from its ``os.stat`` result."""

    __slots__ = ("size", "mtime", "tag")

    def __init__(self, st: os.stat_result):
        self.size = st.st_size
        # Last-Modified: when the file last changed here (ctime covers npm's fixed mtimes).
        self.mtime = max(st.st_mtime, st.st_ctime)
        raw = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}".encode()
        self.tag = hashlib.blake2b(raw, digest_size=8).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic (mtime=0) gzip at level 6: level 9 is within 1% of its size on the runtime
    files but 2-4 times slower (1 s instead of 0.5 s for pyodide.asm.wasm), and a first request
    that finds no precompressed copy waits for it."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def worth_compressing(path: Path | str, size: int) -> bool:
    return size >= MIN_SIZE and media_type(str(path)).compressible


def _is_whole_gzip_of(encoded: bytes, size: int) -> bool:
    """A cheap guard against a damaged cache file: gzip magic, and the trailer's length of the
    original (mod 2**32) matches; a truncated file fails it."""
    return (
        len(encoded) >= 18
        and encoded[:2] == b"\x1f\x8b"
        and int.from_bytes(encoded[-4:], "little") == size % 2**32
    )


def _pays(original_size: int, encoded: bytes) -> bool:
    return len(encoded) <= original_size * WORTH_RATIO


class EncodedCache:
    """gzip copies by file version: memory LRU (``memory_bytes``) over an optional disk folder."""

    def __init__(self, cache_dir: Path | None, memory_bytes: int):
        self.cache_dir = Path(cache_dir) / GZIP if cache_dir is not None else None
        self.brotli_dir = Path(cache_dir) / BROTLI if cache_dir is not None else None
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._memory_used = 0
        self._pending: dict[tuple[str, str], asyncio.Future] = {}
        self.compressions = 0  # how many times a file was actually compressed (for tests)

    async def get(self, path: str | Path, version: FileVersion, *, persist: bool) -> bytes | None:
        """The gzip bytes of this version of ``path``, or ``None`` when they do not pay.

        Concurrent first requests for the same version share one compression, done in a
        worker thread so the event loop keeps serving others."""
        key = (str(path), version.tag)
        cached = self._memory_get(key)
        if cached is None:
            pending = self._pending.get(key)
            if pending is None:
                pending = asyncio.ensure_future(
                    asyncio.to_thread(self.load_or_make, path, version, persist)
                )
                self._pending[key] = pending
                pending.add_done_callback(lambda done: self._finished(key, done))
            # shield: a client that goes away must not cancel the others' compression
            cached = await asyncio.shield(pending)
        return cached or None

    def _finished(self, key, done: asyncio.Future) -> None:
        self._pending.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self._memory_put(key, done.result())

    def load_or_make(self, path: str | Path, version: FileVersion, persist: bool) -> bytes:
        """The copy from disk if it is there and whole, else compress (and store when
        ``persist``). OSError when the file is no longer at ``version``."""
        disk = self._disk_path(path, version) if persist and self.cache_dir else None
        if disk is not None:
            try:
                encoded = disk.read_bytes()
            except OSError:
                pass
            else:
                if _is_whole_gzip_of(encoded, version.size):
                    return encoded if _pays(version.size, encoded) else _NOT_WORTH
        with open(path, "rb") as file:
            data = file.read()
            if FileVersion(os.fstat(file.fileno())).tag != version.tag:
                raise OSError(f"{path} changed while being compressed")
        encoded = gzip_bytes(data)
        self.compressions += 1
        if disk is not None:
            self._disk_store(disk, encoded)
        return encoded if _pays(len(data), encoded) else _NOT_WORTH

    def _disk_path(self, path: str | Path, version: FileVersion) -> Path:
        assert self.cache_dir is not None  # only called with a cache folder
        return gzip_copy_path(self.cache_dir.parent, path, version)

    def brotli_copy(self, path: str | Path, version: FileVersion) -> Path | None:
        """The set-up's brotli copy of this version of ``path``, when there is one that pays
        (an empty file marks a copy that did not)."""
        if self.brotli_dir is None:
            return None
        copy = brotli_copy_path(self.brotli_dir.parent, path, version)
        try:
            return copy if copy.stat().st_size > 0 else None
        except OSError:
            return None

    def _disk_store(self, disk: Path, encoded: bytes) -> None:
        """Write atomically, and drop the copies of older versions of the same file."""
        tmp = None
        try:
            disk.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=disk.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                out.write(encoded)
            os.replace(tmp, disk)
            tmp = None
            record_digest(disk, encoded)
            prefix = disk.name.split("-", 1)[0] + "-"
            for old in disk.parent.glob(prefix + "*.gz*"):
                if not old.name.startswith(disk.name):
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache folder costs speed after a restart, not correctness
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _memory_get(self, key):
        value = self._memory.get(key)
        if value is not None:
            self._memory.move_to_end(key)
        return value

    def _memory_put(self, key, value: bytes) -> None:
        if len(value) > self.memory_bytes or key in self._memory:
            return
        self._memory[key] = value
        self._memory_used += len(value)
        while self._memory_used > self.memory_bytes:
            _, old = self._memory.popitem(last=False)
            self._memory_used -= len(old)


def _copy_name(path: str | Path, version: FileVersion, suffix: str) -> str:
    path_hash = hashlib.blake2b(str(path).encode(), digest_size=10).hexdigest()
    return f"{path_hash}-{version.tag}.{suffix}"


def _persisted_files(mounts, min_size: int):
    """(real path, version) of the compressible files of the ``persist`` mounts."""
    jobs = {}
    for mount in mounts:
        if not mount.persist:
            continue
        for _, path in mount.files():
            real = Path(os.path.realpath(path))
            st = real.stat()
            if st.st_size >= min_size and worth_compressing(real, st.st_size):
                jobs[real] = FileVersion(st)
    return sorted(jobs.items())


DIGEST_SUFFIX = ".sha256"  # beside each copy on disk: its sha256, recorded when it was made


def record_digest(copy: Path, data: bytes | None = None) -> str:
    """Write the sha256 of ``copy`` (of ``data``, its bytes) beside it, atomically."""
    if data is None:
        data = Path(copy).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    temporary = Path(f"{copy}{DIGEST_SUFFIX}.{os.getpid()}.tmp")
    temporary.write_text(digest + "\n")
    os.replace(temporary, f"{copy}{DIGEST_SUFFIX}")
    return digest


def recorded_digest(copy: Path) -> str | None:
    """The sha256 recorded beside ``copy`` when it was made, or None."""
    try:
        return Path(f"{copy}{DIGEST_SUFFIX}").read_text("ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def gzip_copy_path(cache_dir: Path, path: Path | str, version: FileVersion) -> Path:
    return Path(cache_dir) / GZIP / _copy_name(path, version, "gz")


def brotli_copy_path(cache_dir: Path, path: Path | str, version: FileVersion) -> Path:
    return Path(cache_dir) / BROTLI / _copy_name(path, version, "br")


def brotli_jobs(mounts, cache_dir: Path) -> list[tuple[Path, Path]]:
    """(file, where its brotli copy goes) for the large files of the ``persist`` mounts that
    have no recorded copy yet: what the set-up hands to ``bx24_frame/brotli.mjs``."""
    jobs = []
    for real, version in _persisted_files(mounts, BROTLI_MIN_SIZE):
        copy = brotli_copy_path(cache_dir, real, version)
        if not copy.exists() or recorded_digest(copy) is None:
            jobs.append((real, copy))
    return jobs


def brotli_made(jobs: list[tuple[Path, Path]], made: dict) -> int:
    """After the set-up made the copies of ``jobs`` (``made``: {copy: its size}): a copy that
    does not pay is emptied (a marker, so it is not made again), each copy's sha256 is
    recorded, the copies of older versions of the same files are removed. Returns how many
    copies pay."""
    paying = 0
    for source, copy in jobs:
        size = made.get(str(copy))
        if size is None:
            continue
        if size > Path(source).stat().st_size * WORTH_RATIO:
            copy.write_bytes(b"")
        else:
            paying += 1
        record_digest(copy)
        prefix = copy.name.split("-", 1)[0] + "-"
        for old in copy.parent.glob(prefix + "*.br*"):
            if not old.name.startswith(copy.name):
                old.unlink(missing_ok=True)
    return paying


def precompress(mounts, cache_dir: Path, workers: int = 2) -> list[tuple[Path, int, int | None]]:
    """Warm the disk cache for the files of the ``persist`` mounts (the set-up calls this once).

    Returns ``(path, size, compressed size or None when it does not pay)`` per file compressed.
    """
    cache = EncodedCache(cache_dir, memory_bytes=0)
    jobs = dict(_persisted_files(mounts, MIN_SIZE))

    def one(job):
        real, version = job
        encoded = cache.load_or_make(real, version, persist=True)
        return real, version.size, len(encoded) if encoded else None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, sorted(jobs.items())))


def accepts_encoding(accept_encoding: str, coding: str = GZIP) -> bool:
    """Whether an Accept-Encoding header allows ``coding`` (q=0 refuses, ``*`` covers it)."""
    explicit = star = None
    aliases = {coding, "x-" + coding}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if name in aliases:
            explicit = q if explicit is None else max(explicit, q)
        elif name == "*":
            star = q
    if explicit is not None:
        return explicit > 0
    return star is not None and star > 0
