"""Mounts: where a URL prefix's files come from, and how long browsers may keep them.

The server knows no URL layout of its own: it is given a list of mounts (the frame's is in
:mod:`bx24_frame.layout`) and a page for ``/``. The same list tells the exporter what to copy
and the set-up what to precompress, so the layout is written once.

Three kinds, by how a URL names a file:

- :class:`Folder`: ``<prefix><path>`` is ``<root>/<path>`` (checked by :mod:`.safepath`);
- :class:`Table`: ``<prefix><name>`` is whatever the table maps ``name`` to, nothing else
  (content-hashed names: the table changes when a file does);
- :class:`Packages`: ``<prefix><package>@<version>/<path>`` is ``<path>`` in that installed
  package, only at the installed version (a stale URL must never get other bytes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

from .safepath import resolve_file

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


class Mount:
    """``prefix`` (no leading slash, ends with ``/``; ``""`` for the root), ``cache`` (a
    Cache-Control value) and
    ``persist`` (keep compressed copies on disk: large, rarely changing files)."""

    def __init__(self, prefix: str, cache: bytes, persist: bool = False):
        if prefix and (prefix.startswith("/") or not prefix.endswith("/")):
            raise ValueError(
                f"a mount prefix looks like 'runtime/npm/' (or '': the root), not {prefix!r}"
            )
        self.prefix = prefix
        self.prefix_segments = prefix[:-1].split("/") if prefix else []
        self.cache = cache
        self.persist = persist

    @property
    def immutable(self) -> bool:
        return self.cache == IMMUTABLE

    def resolve(self, segments: list[str]) -> str | None:
        """The real path of the file that the URL segments after the prefix name, or None."""
        raise NotImplementedError

    def files(self) -> Iterator[tuple[str, Path]]:
        """Every file this mount serves, as (URL path after the prefix, file), sorted."""
        raise NotImplementedError

    def index(self) -> str | None:
        """The file answered for the prefix itself (``/<prefix>``), if any."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r})"


def _walk(root: Path, allow: Callable[[str], bool] | None) -> Iterator[tuple[str, Path]]:
    """The files a request could get: the same rules as :func:`resolve_file` (no hidden names,
    no link leading out of ``root``)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if name.startswith(".") or (allow and not allow(rel)):
                continue
            if resolve_file(root, rel.split("/")) is not None:
                found.append((rel, path))
    return iter(sorted(found))


class Folder(Mount):
    """A folder served as it is (``allow`` filters by path relative to ``root``)."""

    def __init__(
        self,
        prefix: str,
        root: Path | None,
        cache: bytes,
        *,
        persist: bool = False,
        allow: Callable[[str], bool] | None = None,
        index: str | None = None,
    ):
        super().__init__(prefix, cache, persist)
        self.root = Path(root) if root is not None else None
        self.allow = allow
        self._index = index

    def resolve(self, segments):
        if self.root is None or (self.allow and not self.allow("/".join(segments))):
            return None
        return resolve_file(self.root, segments)

    def files(self):
        if self.root is None or not self.root.is_dir():
            return iter(())
        return _walk(self.root, self.allow)

    def index(self):
        return self._index


class Table(Mount):
    """Exactly the files of ``table()``: ``{name: file}``, read on every request (it may change
    as files are edited)."""

    def __init__(
        self,
        prefix: str,
        table: Callable[[], dict[str, Path]],
        cache: bytes,
        *,
        persist: bool = False,
    ):
        super().__init__(prefix, cache, persist)
        self.table = table

    def resolve(self, segments):
        path = self.table().get("/".join(segments))
        if path is None:
            return None
        try:
            return os.path.realpath(path) if Path(path).is_file() else None
        except OSError:
            return None

    def files(self):
        return iter(sorted(self.table().items()))


class Package:
    """One installed package: its ``version`` and folder, and which of its files are served."""

    def __init__(self, version: str, root: Path, allow: Callable[[str], bool] | None = None):
        self.version = version
        self.root = Path(root)
        self.allow = allow


class Packages(Mount):
    """``<name>@<version>/<path>`` for each of ``packages`` (``{name: Package}``; scoped names
    such as ``@pyscript/core`` take two segments)."""

    def __init__(
        self, prefix: str, packages: dict[str, Package], cache: bytes, *, persist: bool = False
    ):
        super().__init__(prefix, cache, persist)
        self.packages = dict(packages)

    def resolve(self, segments):
        if segments[0].startswith("@"):
            if len(segments) < 3:
                return None
            scope, (name_version, *rest) = segments[0], segments[1:]
            name_version = scope + "/" + name_version
        else:
            name_version, *rest = segments
        name, at, version = name_version.rpartition("@")
        package = self.packages.get(name)
        if not at or not rest or package is None or package.version != version:
            return None
        if package.allow and not package.allow("/".join(rest)):
            return None
        return resolve_file(package.root, rest)

    def files(self):
        for name in sorted(self.packages):
            package = self.packages[name]
            for rel, path in _walk(package.root, package.allow):
                yield f"{name}@{package.version}/{rel}", path


def find(mounts: list[Mount], segments: list[str]) -> tuple[Mount, list[str]] | None:
    """The first mount whose prefix the decoded URL ``segments`` start with, and the rest."""
    for mount in mounts:
        head = mount.prefix_segments
        if segments[: len(head)] == head:
            return mount, segments[len(head) :]
    return None
