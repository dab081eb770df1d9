"""The Pyodide memory snapshot a project's frame boots from, built at ``bx24 setup``.

The image is named by its inputs (the pinned runtime, the builder, bx24's own modules and the
modules it is prepared for), so it is rebuilt exactly when one of them changes, shared by
projects with the same inputs, and the same bytes on every host (the build is deterministic).
The app's own modules are not inputs: the image never holds them (editing main.py needs no
rebuild). The page restores it through ``page/pyodide-snapshot.mjs``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

from .runtime import PYODIDE, Runtime, RuntimeMissing, node_command

BUILDER = Path(__file__).resolve().parent / "build-snapshot.mjs"
HOME = "/home/pyodide"  # Pyodide's working folder, where PyScript writes the `files`

# What every image is prepared for, besides the project's `preload`: the library, and the stdlib
# modules that PyScript's own `pyscript` package and pyodide_http import on every boot (neither
# can be imported in Node: both reach for the page's JS at import; importing their stdlib
# modules at boot cost ~450 ms of a ~1.4 s warm boot), and the codec PyScript's unpacking of
# the wheel needs (zip file names). tests/e2e/test_snapshot.py names any stdlib module a boot
# still imports from the zip.
IMPORTS = (
    "bx24",
    "datetime",
    "encodings.cp437",
    "hashlib",
    "html",
    "html.entities",
    "http.client",
    "ipaddress",
    "quopri",
    "urllib.error",
    "urllib.parse",
    "urllib.request",
    "urllib.response",
)


_builder_digest: str | None = None


def _builder() -> str:
    global _builder_digest
    if _builder_digest is None:
        _builder_digest = hashlib.sha256(BUILDER.read_bytes()).hexdigest()
    return _builder_digest


class Snapshot:
    """The image for ``runtime``, bx24's ``library`` files (``[(path, target)]``) and
    ``preload`` (extra module names); ``digest(path)`` is a content hash of a file (the site's,
    cached by stat)."""

    def __init__(self, runtime: Runtime, library: list[tuple[Path, str]], preload, digest):
        self.runtime = runtime
        self.library = sorted(library, key=lambda item: item[1])
        self.imports = list(IMPORTS) + [name for name in preload if name not in IMPORTS]
        key = hashlib.sha256()
        key.update(runtime.pins.key.encode() + _builder().encode())
        key.update(json.dumps(self.imports).encode())
        for path, target in self.library:
            key.update(target.encode() + b"\0" + digest(Path(path)).encode() + b"\0")
        self.key = key.hexdigest()[:16]
        self.dir = runtime.cache / "snapshots" / self.key

    def manifest(self) -> dict | None:
        """What the build wrote (``snapshot`` file name, ``modules`` it holds...), or None."""
        try:
            manifest = json.loads((self.dir / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        for name in (manifest.get("snapshot", ""), manifest.get("stdlib", "")):
            if not (self.dir / name).is_file():
                return None
        return manifest

    @property
    def file(self) -> Path | None:
        manifest = self.manifest()
        return self.dir / manifest["snapshot"] if manifest else None

    def build(self, say=print, force: bool = False) -> bool:
        """Build the image unless it is there (False then). RuntimeMissing on failure."""
        if self.manifest() is not None and not force:
            return False
        node = node_command()
        self.runtime.require()
        stdlib = stored_stdlib(self.runtime.package_dir(PYODIDE) / "python_stdlib.zip", self.dir)
        spec = {
            "pyodide": str(self.runtime.package_dir(PYODIDE) / "pyodide.mjs"),
            "stdlib": str(stdlib),
            "home": HOME,
            "files": [[str(path), target] for path, target in self.library],
            "imports": self.imports,
            "out": str(self.dir),
        }
        say(
            f"building the Pyodide memory snapshot ({', '.join(self.imports[:1])} and "
            f"{len(self.imports) - 1} stdlib modules) into {self.dir}"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
            json.dump(spec, out)
        try:
            done = subprocess.run(
                [node, str(BUILDER), out.name],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        finally:
            Path(out.name).unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeMissing(f"building the Pyodide snapshot failed:\n{done.stdout.strip()}")
        return True


def stored_stdlib(source: Path, folder: Path) -> Path:
    """Pyodide's stdlib zip with its members stored instead of deflated, as
    ``<folder>/stdlib.<sha256 prefix>.zip`` (deterministic: the same members, order and dates).

    Why: deflated file by file, the zip barely compresses again (2.55 MB, gzip or brotli); the
    same sources stored compress as one text, 2.5 MB → 1.6 MB with the set-up's brotli: about
    0.4 s less on a 20 Mbit/s first load. The interpreter keeps it in memory: 9.7 MB instead of
    2.5 MB. The image is built with this very zip (zipimport keeps the members' offsets in it),
    and the page restores the image with it."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".stdlib.{os.getpid()}.zip"
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as stored,
    ):
        for member in original.infolist():
            copy = zipfile.ZipInfo(member.filename, member.date_time)
            copy.external_attr = member.external_attr
            copy.compress_type = zipfile.ZIP_STORED
            stored.writestr(copy, original.read(member))
    with open(temporary, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()[:16]
    path = folder / f"stdlib.{digest}.zip"
    for old in folder.glob("stdlib.*.zip"):
        if old != path:
            old.unlink(missing_ok=True)
    os.replace(temporary, path)
    return path
