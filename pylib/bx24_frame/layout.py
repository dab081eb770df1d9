"""The frame's URL layout, written once. The server (``bx24 serve``), the exporter
(``bx24 export``), the set-up's precompression and the benchmark all read :func:`mounts`.

| URL                                        | from                                    | cache     |
|--------------------------------------------|-----------------------------------------|-----------|
| ``/`` (GET, HEAD, Bitrix24's POST)         | the worker's page (:mod:`.site`)        | no-cache  |
| ``install`` (GET, HEAD, Bitrix24's POST)   | the install page (:mod:`bx24.install`)  | no-cache  |
| ``main`` (GET, HEAD, Bitrix24's POST)      | the main page (:mod:`bx24.mainpage`)    | no-cache  |
| ``boot/<name>.<hash>.<ext>``               | this package's ``page/`` (boot loader)  | immutable |
| ``bx24/<name>.<hash>.<ext>``               | the installed ``bx24`` library          | immutable |
| ``app/<path>.<hash>.<ext>``                | the project's app folder                | immutable |
| ``modules/<hash>.json``                    | every module of bx24 and the app        | immutable |
| ``runtime/npm/<package>@<version>/<path>`` | the pinned npm packages                 | immutable |
| ``runtime/bundle/<name>.<hash>.mjs``       | bundles made at install (JsSIP)         | immutable |
| ``runtime/pypi/<wheel>``                   | the pinned wheels                       | immutable |
| ``runtime/snapshot/<hash>.snapshot``       | the Pyodide memory snapshot             | immutable |

Every URL but the page names its content (a content hash, or a pinned version), so browsers keep
each file for a year without asking again, an edit is a new URL, and two hosts of one deployment
can never hand out different bytes under one URL. URLs are relative to the page: the frame may
live under any path.
"""

from __future__ import annotations

from bx24_server.mounts import IMMUTABLE, Mount, Package, Packages, Table

from .runtime import served

BOOT = "boot/"
LIBRARY = "bx24/"
APP = "app/"
MODULES = "modules/"
NPM = "runtime/npm/"
BUNDLES = "runtime/bundle/"
WHEELS = "runtime/pypi/"
SNAPSHOT = "runtime/snapshot/"
HASHED = (BOOT, LIBRARY, APP)
# The pages (no-cache), by kind: the URL path of each and its file in an export. "worker" is the
# hidden PAGE_BACKGROUND_WORKER frame; the others are the application's own pages: its install
# page ("initial installation path") and its main page ("handler path").
PAGES = {
    "worker": ("", "index.html"),
    "install": ("install", "install.html"),
    "main": ("main", "main.html"),
}
APP_PAGES = ("install", "main")


def npm_url(package: str, version: str, path: str) -> str:
    return f"{NPM}{package}@{version}/{path}"


def mounts(site) -> list[Mount]:
    """The mounts of a :class:`~bx24_frame.site.FrameSite` (its current build is read on each
    request, so edits show at once)."""
    runtime = site.runtime

    def table(prefix: str):
        return lambda: site.build().tables[prefix]

    tables: list[Mount] = [Table(prefix, table(prefix), IMMUTABLE) for prefix in HASHED]
    packages = {
        name: Package(version, runtime.package_dir(name), served(name))
        for name, version in runtime.pins.packages.items()
    }
    return tables + [
        Packages(NPM, packages, IMMUTABLE, persist=True),
        Table(MODULES, lambda: site.build().tables[MODULES], IMMUTABLE),
        Table(BUNDLES, lambda: site.build().tables[BUNDLES], IMMUTABLE, persist=True),
        Table(WHEELS, lambda: site.build().tables[WHEELS], IMMUTABLE, persist=True),
        Table(SNAPSHOT, lambda: site.build().tables[SNAPSHOT], IMMUTABLE, persist=True),
    ]
