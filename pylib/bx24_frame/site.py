"""What a project's frame is made of: its files under content-hashed URLs, and the page.

A :class:`FrameSite` gathers the boot loader (this package's ``page/``), the ``bx24`` library,
the project's app folder (every ``.py`` under it, plus the ``files`` of ``bx24.toml``), the
pinned runtime and the Pyodide snapshot, and writes the page that names them all: the PyScript
config of each interpreter is inline in the page (no config to fetch), so the page is the one
file that changes when anything does. A :class:`Build` is one consistent version of all that;
:meth:`FrameSite.build` makes a new one when a source file changed (edits show at once).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl

from bx24.events import EVENTS as CARD_EVENTS
from bx24_server import endpoints
from bx24_server.redaction import PATTERNS as REDACTION_PATTERNS

from . import layout
from .runtime import MICROPYTHON, PYODIDE, PYSCRIPT, Runtime
from .settings import ENTRY, Settings, SettingsError
from .snapshot import Snapshot

PAGE_DIR = Path(__file__).resolve().parent / "page"
TEMPLATE = PAGE_DIR / "index.html"
BOOT_FILES = (
    "boot.js",
    "memory-indexeddb.js",
    "micropython-heap.mjs",
    "pyodide-snapshot.mjs",
    "install-page.py",
    "main-page.py",
)
# The application's own pages: the Python each runs, the project's hook module it looks for
# (a module of the app folder), and its title.
APP_PAGE_ENTRIES = {
    "install": ("install-page.py", "install", "Install the application"),
    "main": ("main-page.py", "main_page", "The application"),
}
APP_BODY = PAGE_DIR / "app-body.html"
WORKER_TITLE = "Bitrix24 call-card worker"
REPORT_URL = endpoints.FRAME_REPORT  # where the frames' reports go (relative to the page)
BX24_LIBRARY_URL = "https://api.bitrix24.com/api/v1/"
# The library's JavaScript: the page loads frames.js and bridge.js; sip.mjs is imported by the
# SIP softphone when an app makes one (with the JsSIP bundle), never otherwise.
LIBRARY_SCRIPTS = ("frames.js", "bridge.js", "sip.mjs")
MAX_APP_FILES = 1000
# PyScript plugins a hidden worker frame never uses (an editor, a game canvas, a terminal, the
# warnings about old tags): each is one more request after PyScript's core, on the way to
# Python. Excluded by name in both interpreters' configs ("!<name>", PyScript's syntax).
UNUSED_PLUGINS = ("deprecations-manager", "donkey", "py-editor", "py-game", "py-terminal")
DIGEST_CHARS = 16


def library_dir() -> Path:
    """The installed ``bx24`` package (found without importing it: it is browser code)."""
    import importlib.util

    spec = importlib.util.find_spec("bx24")
    if spec is None or not spec.submodule_search_locations:
        raise SettingsError("the bx24 library is not installed next to bx24_frame")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def hashed_name(rel: str, digest: str) -> str:
    """``pkg/mod.py`` → ``pkg/mod.<digest>.py``: the URL changes exactly when the content does."""
    path = PurePosixPath(rel)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


class _Digests:
    """sha256 prefixes of files, recomputed only when a file's stat changes."""

    def __init__(self):
        self._known: dict[str, tuple[tuple, str]] = {}

    def __call__(self, path: Path, stamp: tuple) -> str:
        key = str(path)
        known = self._known.get(key)
        if known is None or known[0] != stamp:
            with open(path, "rb") as file:
                digest = hashlib.file_digest(file, "sha256").hexdigest()[:DIGEST_CHARS]
            if len(self._known) > 4096:
                self._known.clear()
            known = self._known[key] = (stamp, digest)
        return known[1]


def _stamp(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _inside(app: Path, path: Path) -> None:
    """Only the app folder is served: a link that leads out of it is refused, not followed."""
    real = Path(os.path.realpath(path))
    if real != app and app not in real.parents:
        raise SettingsError(
            f"{path} leads outside the app folder {app} (a symlink?): "
            "copy the file into the app folder"
        )


class Source:
    """One served file: its ``prefix`` (layout), path ``rel`` under it, the ``file``, and the
    ``target`` PyScript writes it to inside the interpreter (None: not a PyScript file)."""

    __slots__ = ("prefix", "rel", "file", "target")

    def __init__(self, prefix: str, rel: str, file: Path, target: str | None = None):
        self.prefix = prefix
        self.rel = rel
        self.file = file
        self.target = target


def _is_module(source: Source) -> bool:
    """A Python module of bx24 or of the app (main.py aside: PyScript runs it)."""
    return (
        source.prefix in (layout.LIBRARY, layout.APP)
        and source.target is not None
        and source.rel.endswith(".py")
    )


def _bundle(modules: list[Source], folder: Path) -> Path:
    """Every module in one JSON file (``{path in the interpreter: source}``), kept in the cache
    under the hash of its content. Why one file: a browser opens at most 6 connections to a
    server speaking HTTP/1.1, and a dozen small modules queued behind them cost round trips on
    a slow link (docs/performance.md); boot.js writes them into the interpreter's files."""
    texts = {}
    for source in modules:
        try:
            texts[source.target] = source.file.read_text("utf-8")
        except UnicodeDecodeError:
            raise SettingsError(
                f"{source.file} is not UTF-8 text: a Python module must be"
            ) from None
    data = json.dumps(texts, sort_keys=True, ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]
    path = folder / f"{digest}.json"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_bytes(data)
        os.replace(temporary, path)
    return path


def _names(settings: Settings) -> dict:
    """The app folder and its main.py, relative to the project (``frame/``, ``frame/main.py``)."""
    try:
        app = settings.app_dir.relative_to(settings.project_dir).as_posix()
    except ValueError:  # an app folder outside the project: its own name
        app = settings.app_dir.name
    app = "" if app in ("", ".") else app + "/"
    return {"app": app, "main": app + ENTRY}


def _escape_json(data) -> str:
    """JSON safe inside ``<script>``: no ``</script>`` or ``<!--`` can end it early."""
    return (
        json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


class Build:
    """One consistent version of the frame: ``tables`` (``{prefix: {url name: file}}`` for
    every content-hashed or pinned mount), ``boot`` (the config in the page), the page."""

    def __init__(
        self,
        site: "FrameSite",
        sources: list[Source],
        stamps: tuple,
        snapshot: Snapshot,
        core_chunks: list[str],
        key: tuple,
    ):
        self.key = key
        self.snapshot = snapshot
        self.core_chunks = core_chunks
        manifest = snapshot.manifest()
        self.tables: dict[str, dict[str, Path]] = {
            prefix: {}
            for prefix in layout.HASHED
            + (layout.MODULES, layout.BUNDLES, layout.WHEELS, layout.SNAPSHOT)
        }
        self.urls: dict[tuple[str, str], str] = {}
        modules = [s for s in sources if _is_module(s)]
        bundle = _bundle(modules, site.runtime.cache / "modules")
        self.tables[layout.MODULES][bundle.name] = bundle
        self.modules_url = layout.MODULES + bundle.name
        for name, path in site.runtime.bundle_files().items():
            hashed = hashed_name(name, site.digests(path, _stamp(path)))
            self.tables[layout.BUNDLES][hashed] = path
            self.urls[(layout.BUNDLES, name)] = layout.BUNDLES + hashed
        for source, stamp in zip(sources, stamps, strict=True):
            if _is_module(source):
                continue  # in the bundle
            if source.prefix in layout.HASHED:
                name = hashed_name(source.rel, site.digests(source.file, stamp))
            else:
                name = source.rel
            self.tables[source.prefix][name] = source.file
            self.urls[(source.prefix, source.rel)] = source.prefix + name
        snapshot_url = stdlib_url = None
        if manifest is not None:  # the image, and the stdlib zip it was made with
            for name in (manifest["snapshot"], manifest["stdlib"]):
                self.tables[layout.SNAPSHOT][name] = self.snapshot.dir / name
            snapshot_url = layout.SNAPSHOT + manifest["snapshot"]
            stdlib_url = layout.SNAPSHOT + manifest["stdlib"]
        self.snapshot_manifest = manifest
        self.boot = self._boot_config(site, sources, snapshot_url, stdlib_url)
        self.app_boots = self._app_boot_configs(site, sources)
        self._template = site.template()
        self._app_body = APP_BODY.read_text("utf-8")
        self._pages: dict[tuple, bytes] = {}

    def _boot_config(self, site, sources, snapshot_url, stdlib_url) -> dict:
        pins = site.runtime.pins
        url = self.urls.__getitem__
        npm = {
            name: (lambda path, name=name: layout.npm_url(name, pins.version(name), path))
            for name in (PYSCRIPT, PYODIDE, MICROPYTHON)
        }
        common = {
            url((s.prefix, s.rel)): "./" + s.target
            for s in sources
            if s.target is not None and s.prefix != layout.WHEELS and not _is_module(s)
        }
        wheels = {url((s.prefix, s.rel)): "./*" for s in sources if s.prefix == layout.WHEELS}
        loader = url((layout.BOOT, "pyodide-snapshot.mjs"))
        pyodide = npm[PYODIDE]
        micropython = npm[MICROPYTHON]
        plugins = ["!" + name for name in UNUSED_PLUGINS]
        if snapshot_url:
            fetches = [pyodide("pyodide.asm.wasm"), stdlib_url, snapshot_url]
        else:
            fetches = [pyodide("pyodide.asm.wasm"), pyodide("python_stdlib.zip")]
        return {
            "interpreter": site.settings.interpreter,
            "main": url((layout.APP, ENTRY)),
            "pythonModules": self.modules_url,
            # the SIP softphone's (bx24.sip): its glue and the JsSIP bundle, imported on use
            "sip": {
                "glue": url((layout.LIBRARY, "sip.mjs")),
                "jssip": url((layout.BUNDLES, "jssip.mjs")),
            },
            "memoryIndexedDB": url((layout.BOOT, "memory-indexeddb.js")),
            "report": REPORT_URL,
            # the call card's events, which bridge.js binds (the library's list: written once)
            "events": list(CARD_EVENTS),
            # what a report must never carry (bx24_server.redaction, applied by boot.js too)
            "redact": list(REDACTION_PATTERNS),
            "watchdogMs": int(site.settings.watchdog_seconds * 1000),
            # how many of an operator's frames run Python (frames.js; 0: every one)
            "frames": {"python": site.settings.python_frames},
            # what tracebacks call the app's files (boot.js): as the project does
            "names": _names(site.settings),
            "pyscript": npm[PYSCRIPT]("dist/core.js"),
            "interpreters": {
                "pyodide": {
                    "type": "py",
                    "config": {
                        "interpreter": loader,
                        "files": {**wheels, **common},
                        "plugins": plugins,
                    },
                    "modules": [loader, pyodide("pyodide.mjs"), pyodide("pyodide.asm.mjs")],
                    "fetches": fetches,
                    "pyodide": pyodide("pyodide.mjs"),
                    "snapshot": snapshot_url,
                    "stdlib": stdlib_url,
                },
                "micropython": {
                    "type": "mpy",
                    "config": {
                        "interpreter": url((layout.BOOT, "micropython-heap.mjs")),
                        "files": common,
                        "plugins": plugins,
                    },
                    "modules": [
                        url((layout.BOOT, "micropython-heap.mjs")),
                        micropython("micropython.mjs"),
                    ],
                    "fetches": [micropython("micropython.wasm")],
                    "micropython": micropython("micropython.mjs"),
                    "wasm": micropython("micropython.wasm"),
                },
            },
        }

    def _app_boot_configs(self, site, sources) -> dict:
        """The boot config of each application page: the worker's, with the page's kind, its
        Python, the ``[app]`` settings and the server's endpoints the page talks to."""
        modules = {
            s.rel[:-3]
            for s in sources
            if _is_module(s) and s.prefix == layout.APP and "/" not in s.rel
        }
        configs = {}
        for kind, (entry, _, _) in APP_PAGE_ENTRIES.items():
            app = dict(site.settings.app)
            app["hooks"] = sorted(h for _, h, _ in APP_PAGE_ENTRIES.values() if h in modules)
            configs[kind] = {
                **self.boot,
                "page": kind,
                "main": self.urls[(layout.BOOT, entry)],
                "app": app,
                "server": {
                    "install": endpoints.INSTALL,
                    "portal": endpoints.PORTAL,
                    "error_handler": endpoints.ERROR_HANDLER,
                    # what the worker's URL keeps of the page's query (bx24.apppage)
                    "carry": ["interpreter", *sorted(site.variants)],
                },
            }
        return configs

    def page(
        self, bx24_library: str | tuple[str, ...] = BX24_LIBRARY_URL, kind: str = "worker"
    ) -> bytes:
        """The page of ``kind`` (``worker``, or an application page: ``install``, ``main``),
        loading Bitrix24's library from ``bx24_library`` (the emulator's stub and SIP stand-in
        in its variant: several scripts, in order)."""
        page = self._pages.get((bx24_library, kind))
        if page is None:
            boot = self.boot if kind == "worker" else self.app_boots[kind]
            core = self.boot["pyscript"]
            # PyScript's core, and the check of IndexedDB that boot.js makes before importing it
            preloads = (
                [core]
                + [core.rsplit("/", 1)[0] + "/" + chunk for chunk in self.core_chunks]
                + [self.boot["memoryIndexedDB"]]
            )
            frames = self.urls[(layout.LIBRARY, "frames.js")]
            links = preloads
            if kind == "worker" and boot["frames"]["python"]:
                # only some of an operator's frames run Python: the page's inline script
                # preloads PyScript's modules in those (bx24Prefetch), a relay never does
                boot = {**boot, "preloads": preloads}
                links = []
            text = (
                self._template.replace(
                    "{{TITLE}}", WORKER_TITLE if kind == "worker" else APP_PAGE_ENTRIES[kind][2]
                )
                .replace(
                    "{{FRAMES_SCRIPT}}",
                    f'<script src="{frames}"></script>' if kind == "worker" else "",
                )
                .replace("{{BODY}}", "<body hidden></body>" if kind == "worker" else self._app_body)
                .replace("{{BOOT_CONFIG}}", _escape_json(boot))
                .replace("{{BOOT_JS}}", self.urls[(layout.BOOT, "boot.js")])
                .replace("{{REPORT}}", REPORT_URL)
                .replace(
                    "{{MODULE_PRELOADS}}",
                    "\n  ".join(f'<link rel="modulepreload" href="{href}">' for href in links),
                )
                .replace(
                    "{{BX24_LIBRARY}}",
                    "\n  ".join(
                        f'<script src="{src}"></script>'
                        for src in (
                            (bx24_library,) if isinstance(bx24_library, str) else bx24_library
                        )
                    ),
                )
                .replace("{{BRIDGE_JS}}", self.urls[(layout.LIBRARY, "bridge.js")])
            )
            page = self._pages[(bx24_library, kind)] = text.encode("utf-8")
        return page


class FrameSite:
    """The frame of ``settings``' project, over ``runtime`` (default: the installed pins).

    ``variants`` maps a query parameter of ``/`` to another BX24 library URL, or to several
    scripts in its place (the emulator: its BX24 stub and SIP stand-in); ``extra_mounts`` are
    served beside the layout, ``routes`` beside the server's own endpoints.
    """

    def __init__(
        self,
        settings: Settings,
        runtime: Runtime | None = None,
        *,
        library: Path | None = None,
        variants: dict[str, str | tuple[str, ...]] | None = None,
        extra_mounts=(),
        routes=(),
    ):
        self.settings = settings
        self.runtime = runtime or Runtime()
        self.library = Path(library) if library is not None else library_dir()
        self.variants = dict(variants or {})
        self.digests = _Digests()
        self._build: Build | None = None
        self._fingerprint_of_build: tuple | None = None
        self._lock = threading.Lock()
        self._core_chunks: tuple[tuple, list[str]] | None = None
        self.extra_mounts = list(extra_mounts)
        self.mounts = layout.mounts(self) + self.extra_mounts
        self.routes = list(routes)  # endpoints of the site's own (bx24_server.routes)

    # -- sources ---------------------------------------------------------------------------

    def library_sources(self) -> list[Source]:
        sources = [
            Source(layout.LIBRARY, path.name, path, "bx24/" + path.name)
            for path in sorted(self.library.glob("*.py"))
        ]
        if not sources:
            raise SettingsError(f"no bx24 modules in {self.library}")
        return sources + [
            Source(layout.LIBRARY, name, self.library / name) for name in LIBRARY_SCRIPTS
        ]

    def app_sources(self) -> list[Source]:
        app = self.settings.app_dir
        self.settings.check_app()
        found = []
        for dirpath, dirnames, filenames in os.walk(app):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d != "__pycache__"
            )
            for name in sorted(filenames):
                if name.endswith(".py") and not name.startswith("."):
                    _inside(app, Path(dirpath, name))
                    rel = Path(dirpath, name).relative_to(app).as_posix()
                    found.append(
                        Source(layout.APP, rel, Path(dirpath, name), None if rel == ENTRY else rel)
                    )
                    if len(found) > MAX_APP_FILES:
                        raise SettingsError(
                            f"over {MAX_APP_FILES} Python files under {app}: is `app` in "
                            "bx24.toml the folder of your frame's modules?"
                        )
        listed = {s.rel for s in found}
        for rel, target in sorted(self.settings.files.items()):
            path = app / rel
            _inside(app, path)
            if not path.is_file():
                raise SettingsError(
                    f"{self.settings.source}: `files` names {rel}, which is not a file in {app}"
                )
            if rel in listed:
                raise SettingsError(
                    f"{self.settings.source}: `files` names {rel}, a module of "
                    "the app (those are listed already)"
                )
            found.append(Source(layout.APP, rel, path, target))
        return found

    def sources(self) -> list[Source]:
        boot = [Source(layout.BOOT, name, PAGE_DIR / name) for name in BOOT_FILES]
        wheels = [
            Source(layout.WHEELS, path.name, path, "*") for path in self.runtime.wheel_files()
        ]
        return boot + self.library_sources() + self.app_sources() + wheels

    def snapshot_for(self, sources: list[Source] | None = None) -> Snapshot:
        library = [
            (s.file, s.target)
            for s in (sources or self.library_sources())
            if s.prefix == layout.LIBRARY and s.target
        ]
        return Snapshot(
            self.runtime,
            library,
            self.settings.preload,
            digest=lambda path: self.digests(path, _stamp(path)),
        )

    def template(self) -> str:
        return TEMPLATE.read_text("utf-8")

    def core_chunks(self) -> list[str]:
        """The chunks PyScript's core.js imports at once (preloaded with it)."""
        core = self.runtime.package_dir(PYSCRIPT) / "dist" / "core.js"
        stamp = _stamp(core)
        if self._core_chunks is None or self._core_chunks[0] != stamp:
            chunks = sorted(
                set(re.findall(r'from\s*"\./(core-[\w-]+\.js)"', core.read_text("utf-8")))
            )
            self._core_chunks = (stamp, chunks)
        return self._core_chunks[1]

    # -- builds ----------------------------------------------------------------------------

    def build(self) -> Build:
        """The current build; a new one when any source changed since the last (checked on
        every call by a scan of stats: about 50 µs for a small app)."""
        fingerprint = self._fingerprint()
        with self._lock:
            if self._build is not None and self._fingerprint_of_build == fingerprint:
                return self._build
        sources = self.sources()
        stamps = tuple(_stamp(s.file) for s in sources)
        snapshot = self.snapshot_for(sources)
        chunks = self.core_chunks()
        build = Build(self, sources, stamps, snapshot, chunks, fingerprint)
        with self._lock:
            self._build, self._fingerprint_of_build = build, fingerprint
            return build

    def _fingerprint(self) -> tuple:
        """The stats of every file a build reads (a changed, added or removed one changes it)."""
        out: list[tuple | None] = []

        def scan(folder, deep, keep=None):
            try:
                with os.scandir(folder) as found:
                    entries = sorted(found, key=lambda entry: entry.name)
            except OSError:
                out.append((folder, None))
                return
            for entry in entries:
                if entry.name.startswith(".") or entry.name == "__pycache__":
                    continue
                try:
                    if entry.is_dir():
                        if deep:
                            scan(entry.path, deep, keep)
                        continue
                    if keep is None or entry.name.endswith(keep):
                        st = entry.stat()
                        out.append(
                            (entry.path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                        )
                except OSError:
                    out.append((entry.path, None))

        scan(PAGE_DIR, False)
        scan(self.library, False, (".py", ".js", ".mjs"))
        scan(self.settings.app_dir, True)
        scan(self.runtime.wheels_dir, False, ".whl")
        for path in (
            self.runtime.package_dir(PYSCRIPT) / "dist" / "core.js",
            self._build.snapshot.dir / "manifest.json" if self._build else None,
        ):
            try:
                out.append(_stamp(path) if path else None)
            except OSError:
                out.append(None)
        return tuple(out)

    @property
    def pages(self) -> dict[str, str]:
        """The application pages' URL paths, by kind (the worker's page is ``/``)."""
        return {kind: layout.PAGES[kind][0] for kind in layout.APP_PAGES}

    def page(self, query: bytes = b"", kind: str = "worker") -> bytes:
        """The page of ``kind`` (``/``: the worker's): a variant when the query names one
        (``?emulator``)."""
        build = self.build()
        for key, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if key in self.variants:
                return build.page(self.variants[key], kind)
        return build.page(kind=kind)
