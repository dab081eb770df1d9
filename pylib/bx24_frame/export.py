"""``bx24 export OUT``: the frame as a folder of static files that nginx serves as it is.

::

    OUT/
      www/                  the web root: index.html (the worker's page), install.html and
                            main.html (the application's pages), and every file of the layout
                            under its content-hashed or versioned URL, with a .gz beside each
                            file that compresses, and a .br beside the large runtime files
                            (the copies `bx24 setup` made)
      nginx.conf            the server block for it (bx24_frame.nginx)
      bx24-export.json      what was exported: every file's sha256

The same inputs give the same bytes (sorted, gzip without timestamps, a deterministic
snapshot), so hosts behind one load balancer can each run the export and serve the same
URLs with the same content.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from bx24_server.compression import (
    WORTH_RATIO,
    EncodedCache,
    FileVersion,
    gzip_bytes,
    worth_compressing,
)
from bx24_server.config import Config

from . import layout
from .nginx import NginxOptions, render
from .runtime import cache_root
from .site import FrameSite

MARKER = "bx24-export.json"
WEB_ROOT = "www"


class ExportError(RuntimeError):
    """The export cannot be written where asked; the message says why."""


def _prepare(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise ExportError(f"{out} is a file: give a folder for the export")
        if any(out.iterdir()):
            if not (out / MARKER).is_file():
                raise ExportError(
                    f"{out} is not empty and holds no earlier export ({MARKER}): "
                    "give a new or empty folder"
                )
            for child in out.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write(
    path: Path,
    data: bytes,
    digests: dict,
    root: Path,
    encoded: bytes | None = None,
    brotli: Path | None = None,
) -> None:
    """``data`` at ``path`` and, when it pays, its gzip beside it (``encoded``: made already),
    and the set-up's ``brotli`` copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digests[path.relative_to(root).as_posix()] = hashlib.sha256(data).hexdigest()
    if brotli is not None:
        copy = path.with_name(path.name + ".br")
        shutil.copyfile(brotli, copy)
        digests[copy.relative_to(root).as_posix()] = hashlib.sha256(copy.read_bytes()).hexdigest()
    if worth_compressing(path, len(data)):
        if encoded is None:
            encoded = gzip_bytes(data)
        if encoded and len(encoded) <= len(data) * WORTH_RATIO:
            gz = path.with_name(path.name + ".gz")
            gz.write_bytes(encoded)
            digests[gz.relative_to(root).as_posix()] = hashlib.sha256(encoded).hexdigest()


def export(
    site: FrameSite, out: Path, options: NginxOptions | None = None, config: Config | None = None
) -> dict:
    """Write the export of ``site`` into ``out``; returns the manifest (files and digests)."""
    from . import integrity

    out = Path(out).resolve()
    site.runtime.require()
    integrity.check(site)  # only what the set-up made is exported
    build = site.build()
    if build.snapshot_manifest is None:
        raise ExportError(
            "no Pyodide snapshot for this app: run `bx24 setup` first (an "
            "export without it would boot Pyodide seconds slower)"
        )
    _prepare(out)
    www = out / WEB_ROOT
    digests: dict[str, str] = {}
    for kind, (_, name) in layout.PAGES.items():  # the worker's page, the app's pages
        _write(www / name, build.page(kind=kind), digests, out)
    layout_mounts = site.mounts[: len(site.mounts) - len(site.extra_mounts)]
    # The large pinned files' gzip copies are the ones `bx24 setup` made (the same bytes).
    compressed = EncodedCache(cache_root(), memory_bytes=0)
    for mount in layout_mounts:
        for rel, path in mount.files():
            data = Path(path).read_bytes()
            encoded = brotli = None
            if mount.persist and worth_compressing(path, len(data)):
                real = os.path.realpath(path)
                version = FileVersion(os.stat(real))
                encoded = compressed.load_or_make(real, version, persist=True)
                brotli = compressed.brotli_copy(real, version)
            _write(www / mount.prefix / rel, data, digests, out, encoded, brotli)
    options = options or NginxOptions(root=www)
    config = config or Config(frame_ancestors=site.settings.frame_ancestors)
    _write(out / "nginx.conf", render(options, config).encode(), digests, out)
    manifest = {"files": dict(sorted(digests.items()))}
    (out / MARKER).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest
