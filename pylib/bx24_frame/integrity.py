"""The cache is what `bx24 setup` made it: checked before anything in it is served or exported.

Every file the frame loads from the cache goes out as ``immutable`` (cached by browsers for a
year) and is copied into exports: a file changed after the set-up (an edit while debugging, a
damaged disk, a tampered host) would reach every operator and stay there. So ``bx24 setup``,
``bx24 serve``, ``bx24 export`` and the test plugin check, each time, that:

- every file of the runtime is the one the set-up recorded (``installed.json``: the sha256 of
  each file the frame may load from the npm packages, the bundles and the wheels), and none was
  added where the frame would serve it;
- the snapshot's image and stdlib zip still hash to their names;
- the compressed copies of those files (``gzip/``, ``br/``) hash to what was recorded beside
  each when it was made (a gzip copy from an older bx24, without a record, must decompress to
  the recorded content).

Measured on the pinned runtime (about 80 MB to hash): see docs/performance.md.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from bx24_server.compression import (
    FileVersion,
    brotli_copy_path,
    gzip_copy_path,
    record_digest,
    recorded_digest,
    worth_compressing,
)

from .runtime import RuntimeMissing, file_sha256

MAX_LISTED = 10


class CacheChanged(RuntimeMissing):
    """A file of the cache differs from what `bx24 setup` made: nothing is served from it."""


def problems(site) -> list[str]:
    """What differs between the cache and what the set-up made (empty: all is well)."""
    found: list[str] = []
    expected: dict[str, str] = {}  # real path -> sha256 of a verified file
    runtime = site.runtime
    recorded = runtime.recorded()
    if recorded is None:
        return [f"{runtime.dir}: not installed (run `bx24 setup`)"]
    present = {path.relative_to(runtime.dir).as_posix(): path for path in runtime.served_files()}
    for rel in sorted(set(recorded) | set(present)):
        path = present.get(rel)
        if path is None:
            found.append(f"{runtime.dir / rel}: missing")
        elif rel not in recorded:
            found.append(f"{path}: not installed by `bx24 setup`, yet it would be served")
        elif file_sha256(path) != recorded[rel]:
            found.append(f"{path}: changed since `bx24 setup` installed it")
        else:
            expected[os.path.realpath(path)] = recorded[rel]
    if found:
        return found  # the site cannot even be built over a damaged runtime
    manifest = site.build().snapshot_manifest
    if manifest is not None:
        for name in (manifest["snapshot"], manifest["stdlib"]):
            path = site.build().snapshot.dir / name
            digest = file_sha256(path)
            if not digest.startswith(Path(name).stem.rsplit(".", 1)[-1]):
                found.append(f"{path}: changed since `bx24 setup` built it")
            else:
                expected[os.path.realpath(path)] = digest
    found.extend(_copies(site, expected))
    return found


def _copies(site, expected: dict[str, str]) -> list[str]:
    """The compressed copies of the verified files, checked against them."""
    found = []
    cache = site.runtime.cache
    for mount in site.mounts:
        if not mount.persist:
            continue
        for _, path in mount.files():
            real = os.path.realpath(path)
            digest = expected.get(real)
            st = os.stat(real)
            if digest is None or not worth_compressing(real, st.st_size):
                continue
            version = FileVersion(st)
            copy = gzip_copy_path(cache, real, version)
            if copy.is_file() and not _recorded(
                copy, lambda data, digest=digest: _gunzips_to(data, digest)
            ):
                found.append(f"{copy}: not the gzip copy of {real}")
            copy = brotli_copy_path(cache, real, version)
            if copy.is_file() and not _recorded(copy, None):
                found.append(f"{copy}: changed since `bx24 setup` made it")
    return found


def _recorded(copy: Path, verify) -> bool:
    """Whether ``copy`` is what its recorded sha256 says. A copy without a record (made by an
    older bx24) is checked by ``verify(data)`` and recorded, when it can be."""
    data = copy.read_bytes()
    digest = recorded_digest(copy)
    if digest is not None:
        return hashlib.sha256(data).hexdigest() == digest
    if verify is None or not verify(data):
        return False
    record_digest(copy, data)
    return True


def _gunzips_to(data: bytes, digest: str) -> bool:
    if not data:
        return True  # the marker of a copy that did not pay
    try:
        return hashlib.sha256(gzip.decompress(data)).hexdigest() == digest
    except (OSError, EOFError, zlib.error):
        return False


def check(site) -> None:
    """Raise :class:`CacheChanged` (the files named, and what to do) unless the cache is what
    the set-up made."""
    found = problems(site)
    if found:
        more = f"\n  ... and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
        raise CacheChanged(
            "the bx24 cache is not what `bx24 setup` made, so nothing is served or exported "
            "from it:\n  "
            + "\n  ".join(found[:MAX_LISTED])
            + more
            + "\nRun `bx24 setup --repair` to install and build it again."
        )
