"""The pinned browser runtime (PyScript, Pyodide, MicroPython, wheels) and where it is installed.

The pins ship in this package (``pins/``): npm's ``package.json`` + ``package-lock.json`` (with
integrity hashes) and pip's ``wheels.txt`` (with sha256). Every version anywhere else (URLs,
the page, the snapshot) is read from the lockfile here. ``bx24 setup`` installs them into a
cache folder keyed by the pins' hash, shared by every project on the machine:

    $BX24_CACHE, else $XDG_CACHE_HOME/bx24, else ~/.cache/bx24
        runtime/<pins hash>/node_modules/...   npm ci of the lockfile
        runtime/<pins hash>/bundles/...        browser bundles of build-time packages (JsSIP)
        runtime/<pins hash>/wheels/...         pip download --require-hashes
        snapshots/<inputs hash>/...            Pyodide memory snapshots (bx24_frame.snapshot)
        gzip/...                               compressed copies the server sends
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PINS = Path(__file__).resolve().parent / "pins"
CACHE_ENV = "BX24_CACHE"
NODE_MAJOR = 20

# What the frame may load from each pinned npm package: the rest of a package is for Node,
# editors or docs. The keys are package.json's dependencies (a test checks they agree).
SERVED_PARTS = {
    "@pyscript/core": ("dist/",),
    "pyodide": ("",),
    "@micropython/micropython-webassembly-pyscript": ("",),
}
SERVED_SUFFIXES = (".js", ".mjs", ".wasm", ".zip", ".css", ".json")
NOT_SERVED = ("package.json",)

# Browser bundles made at install from the pinned build-time packages (devDependencies):
# {file: (package, its entry)}. JsSIP ships CommonJS only; esbuild makes it one ES module.
BUNDLES = {"jssip.mjs": ("jssip", "lib/JsSIP.js")}
ESBUILD = "esbuild"

PYSCRIPT = "@pyscript/core"
PYODIDE = "pyodide"
MICROPYTHON = "@micropython/micropython-webassembly-pyscript"


class RuntimeMissing(RuntimeError):
    """The runtime (or a tool to install it) is not there; the message says what to run."""


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def cache_root() -> Path:
    """Where bx24 keeps what it installs and builds (see the module doc)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "bx24").resolve()


def served(package: str):
    """The filter of the files the frame may load from ``package`` (paths inside it)."""
    parts = SERVED_PARTS[package]

    def allow(rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        return (
            any(rel.startswith(part) for part in parts)
            and name.endswith(SERVED_SUFFIXES)
            and name not in NOT_SERVED
            and "node_modules/" not in rel
        )

    return allow


class Wheel:
    """One pinned wheel: ``name==version`` in wheels.txt; ``file`` once downloaded."""

    def __init__(self, name: str, version: str):
        self.name = name
        self.version = version

    @property
    def pattern(self) -> str:
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-*.whl"


class Pins:
    """The pin files of ``folder`` (default: this package's ``pins/``)."""

    FILES = ("package.json", "package-lock.json", "wheels.txt")

    def __init__(self, folder: Path = PINS):
        self.folder = Path(folder)
        manifest = json.loads((self.folder / "package.json").read_text("utf-8"))
        lock = json.loads((self.folder / "package-lock.json").read_text("utf-8"))
        locked = lock.get("packages", {})
        self.packages: dict[str, str] = {}
        for name in manifest.get("dependencies", {}):
            entry = locked.get(f"node_modules/{name}")
            if not entry or "version" not in entry:
                raise ValueError(f"{name} is in package.json but not in package-lock.json")
            self.packages[name] = entry["version"]
        self.wheels = []
        for line in (self.folder / "wheels.txt").read_text("utf-8").splitlines():
            pinned = re.match(r"\s*([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+!-]+)", line)
            if pinned:
                self.wheels.append(Wheel(pinned[1], pinned[2]))
        digest = hashlib.sha256()
        for name in self.FILES:
            digest.update((self.folder / name).read_bytes())
        self.key = digest.hexdigest()[:16]

    def version(self, package: str) -> str:
        return self.packages[package]


def _run(command: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except FileNotFoundError:
        raise RuntimeMissing(f"{what}: {command[0]} not found") from None
    if done.returncode != 0:
        raise RuntimeMissing(f"{what} failed (exit {done.returncode}):\n{done.stdout.strip()}")


def node_command() -> str:
    """The ``node`` to run, checked to be recent enough; RuntimeMissing says what to install."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        raise RuntimeMissing(
            f"bx24 needs Node.js {NODE_MAJOR}+ with npm to install the pinned PyScript runtime and "
            "build the Pyodide snapshot: install them (https://nodejs.org, or on Debian/Ubuntu: "
            "sudo apt-get install nodejs npm), then run `bx24 setup` again"
        )
    version = subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True).stdout
    major = re.match(r"v(\d+)", version.strip())
    if not major or int(major[1]) < NODE_MAJOR:
        raise RuntimeMissing(
            f"bx24 needs Node.js {NODE_MAJOR}+, this is {version.strip()}: "
            "install a newer one (https://nodejs.org)"
        )
    return node


class Runtime:
    """The runtime of ``pins`` installed under ``cache`` (default: :func:`cache_root`)."""

    STAMP = "installed.json"

    def __init__(self, pins: Pins | None = None, cache: Path | None = None):
        self.pins = pins or Pins()
        self.cache = Path(cache) if cache is not None else cache_root()
        self.dir = self.cache / "runtime" / self.pins.key

    @property
    def node_modules(self) -> Path:
        return self.dir / "node_modules"

    @property
    def wheels_dir(self) -> Path:
        return self.dir / "wheels"

    @property
    def bundles_dir(self) -> Path:
        return self.dir / "bundles"

    def bundle_files(self) -> dict[str, Path]:
        """The browser bundles made at install: {name: file}."""
        return {name: self.bundles_dir / name for name in BUNDLES}

    def package_dir(self, package: str) -> Path:
        return self.node_modules.joinpath(*package.split("/"))

    def installed(self) -> bool:
        """Installed, with the digest of every file it serves recorded (an older set-up's
        install, without them, is installed again)."""
        return self.recorded() is not None

    def recorded(self) -> dict[str, str] | None:
        """``{path under the runtime folder: sha256}`` of every file the frame may load from it,
        as the set-up recorded them; None when not installed."""
        try:
            files = json.loads((self.dir / self.STAMP).read_text("utf-8")).get("files")
        except (OSError, ValueError):
            return None
        return files if isinstance(files, dict) else None

    def served_files(self, folder: Path | None = None) -> list[Path]:
        """Every file of the runtime folder (or of ``folder``, an install in the making) the
        frame may load: the served parts of the npm packages, the bundles, the wheels."""
        folder = Path(folder or self.dir)
        found = []
        for name in self.pins.packages:
            root = folder.joinpath("node_modules", *name.split("/"))
            allow = served(name)
            for dirpath, _, filenames in os.walk(root):
                for filename in filenames:
                    path = Path(dirpath, filename)
                    if allow(path.relative_to(root).as_posix()):
                        found.append(path)
        for sub in ("bundles", "wheels"):
            if (folder / sub).is_dir():
                found.extend(path for path in (folder / sub).iterdir() if path.is_file())
        return sorted(found)

    def record(self, folder: Path | None = None) -> None:
        """Write the stamp of the install in ``folder`` (default: the runtime's): the pins, and
        the sha256 of every served file (what :mod:`bx24_frame.integrity` checks before anything
        is served or exported)."""
        folder = Path(folder or self.dir)
        files = {
            path.relative_to(folder).as_posix(): file_sha256(path)
            for path in self.served_files(folder)
        }
        (folder / self.STAMP).write_text(
            json.dumps(
                {
                    "packages": self.pins.packages,
                    "wheels": [f"{w.name}=={w.version}" for w in self.pins.wheels],
                    "files": files,
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )

    def require(self) -> "Runtime":
        if not self.installed():
            raise RuntimeMissing(
                f"the pinned PyScript runtime is not installed in {self.dir}: run `bx24 setup`"
            )
        return self

    def wheel_files(self) -> list[Path]:
        """The downloaded file of each pinned wheel, in wheels.txt's order."""
        files = []
        for wheel in self.pins.wheels:
            found = sorted(self.wheels_dir.glob(wheel.pattern))
            if not found:
                raise RuntimeMissing(
                    f"{wheel.name}=={wheel.version} is not in {self.wheels_dir}: run `bx24 setup`"
                )
            files.append(found[0])
        return files

    def install(self, say=print) -> bool:
        """Install the pins (idempotent): False when they were already there. Into a temporary
        folder first, renamed at the end, so a half-done install is never used."""
        if self.installed():
            return False
        node_command()
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{self.pins.key}-", dir=self.dir.parent))
        try:
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(self.pins.folder / name, work / name)
            say(
                f"installing the pinned PyScript runtime into {self.dir} "
                "(npm ci, integrity-checked)"
            )
            _run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                "npm ci of the pinned runtime",
                cwd=work,
            )
            for name, (package, entry) in BUNDLES.items():
                say(f"bundling {package} for the browser ({name}, esbuild)")
                modules = work / "node_modules"
                _run(
                    [
                        node_command(),
                        str(modules / ESBUILD / "bin" / "esbuild"),
                        str(modules.joinpath(*package.split("/"), entry)),
                        "--bundle",
                        "--format=esm",
                        "--platform=browser",
                        "--target=es2020",
                        "--minify",
                        "--legal-comments=eof",
                        "--log-level=warning",
                        f"--outfile={work / 'bundles' / name}",
                    ],
                    f"bundling {package}",
                )
            if self.pins.wheels:
                say("downloading the pinned wheels (hash-checked)")
                _run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-deps",
                        "--require-hashes",
                        "-r",
                        str(self.pins.folder / "wheels.txt"),
                        "-d",
                        str(work / "wheels"),
                    ],
                    "pip download of the pinned wheels",
                )
            self.record(work)
            if self.dir.exists():  # a half-done install, an older set-up's, or a damaged one
                shutil.rmtree(self.dir)
            try:
                work.rename(self.dir)
            except OSError:  # another set-up finished first: theirs is the same
                if not self.installed():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        return True
