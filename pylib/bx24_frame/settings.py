"""A bx24 project's settings: ``bx24.toml`` at the project's root, every key optional.

::

    app = "frame"                  # the folder with main.py and your other modules
    interpreter = "pyodide"        # when the handler URL has no ?interpreter= (or "micropython")
    frame_ancestors = "'self' https://*.bitrix24.com https://portal.example.com"
    preload = ["decimal"]          # stdlib modules imported into the Pyodide snapshot
    watchdog_seconds = 8           # a boot with no progress for this long is reported as stuck

    [files]                        # other files the frame's Python reads, from the app folder
    "data/prompts.json" = "prompts.json"      # -> path inside the interpreter

Everything else is found: every ``.py`` file under the app folder is a module of the app.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path, PurePosixPath

SETTINGS_FILE = "bx24.toml"
DEFAULT_APP = "frame"
ENTRY = "main.py"
INTERPRETERS = ("pyodide", "micropython")
KEYS = ("app", "interpreter", "frame_ancestors", "preload", "files", "watchdog_seconds")
DEFAULT_WATCHDOG_SECONDS = 8
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class SettingsError(ValueError):
    """``bx24.toml`` or the app folder is not usable; the message says what to change."""


class Settings:
    """The settings of the project at ``project_dir`` (see the module doc)."""

    def __init__(self, project_dir: Path, *, app: str = DEFAULT_APP, interpreter: str = "pyodide",
                 frame_ancestors: str | None = None, preload: list[str] | None = None,
                 files: dict[str, str] | None = None, source: Path | None = None,
                 watchdog_seconds: float = DEFAULT_WATCHDOG_SECONDS):
        self.project_dir = Path(project_dir).resolve()
        self.source = source
        self.app_dir = (self.project_dir / app).resolve()
        self.interpreter = interpreter
        self.frame_ancestors = frame_ancestors
        self.preload = list(preload or [])
        self.files = dict(files or {})
        self.watchdog_seconds = watchdog_seconds

    @property
    def entry(self) -> Path:
        return self.app_dir / ENTRY

    def check_app(self) -> None:
        """Raise :class:`SettingsError` when there is no app to serve."""
        if not self.entry.is_file():
            where = f" (app = {self.app_dir} in {self.source})" if self.source else ""
            raise SettingsError(
                f"no {ENTRY} in {self.app_dir}{where}: a bx24 app is a folder with main.py "
                f"(create a project with `bx24 new DIR`, or set `app` in {SETTINGS_FILE})")

    def __repr__(self) -> str:
        return (f"Settings(project_dir={str(self.project_dir)!r}, app_dir={str(self.app_dir)!r}, "
                f"interpreter={self.interpreter!r})")


def _where(path: Path, key: str) -> str:
    return f"{path}: `{key}`"


def _relative_inside(path: Path, key: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{_where(path, key)} must be a non-empty path, not {value!r}")
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value:
        raise SettingsError(f"{_where(path, key)}: {value!r} must be a relative path inside "
                            "the folder, without '..'")
    return str(pure)


def load(project_dir: str | Path | None = None) -> Settings:
    """The settings of ``project_dir`` (default: the current folder)."""
    project = Path(project_dir if project_dir is not None else ".").resolve()
    path = project / SETTINGS_FILE
    if not path.is_file():
        return Settings(project)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}; "
                            f"known: {', '.join(KEYS)}")
    app = data.get("app", DEFAULT_APP)
    if app != ".":
        app = _relative_inside(path, "app", app)
    interpreter = data.get("interpreter", "pyodide")
    if interpreter not in INTERPRETERS:
        raise SettingsError(f"{_where(path, 'interpreter')} is {interpreter!r}; "
                            f"use one of {', '.join(INTERPRETERS)}")
    ancestors = data.get("frame_ancestors")
    if ancestors is not None and (not isinstance(ancestors, str) or not ancestors.split()):
        raise SettingsError(f"{_where(path, 'frame_ancestors')} is a space-separated list of "
                            "CSP sources, e.g. \"'self' https://portal.example.com\"")
    preload = data.get("preload", [])
    if not isinstance(preload, list) or not all(
            isinstance(name, str) and _MODULE_NAME.fullmatch(name) for name in preload):
        raise SettingsError(f"{_where(path, 'preload')} is a list of module names, "
                            f"e.g. [\"decimal\", \"xml.etree.ElementTree\"], not {preload!r}")
    watchdog = data.get("watchdog_seconds", DEFAULT_WATCHDOG_SECONDS)
    if type(watchdog) not in (int, float) or not 1 <= watchdog <= 600:
        raise SettingsError(f"{_where(path, 'watchdog_seconds')} is a number of seconds "
                            f"from 1 to 600, not {watchdog!r}")
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise SettingsError(f"{_where(path, 'files')} is a table of \"source\" = \"target\"")
    checked = {}
    for source, target in files.items():
        checked[_relative_inside(path, "files", source)] = _relative_inside(path, "files", target)
    return Settings(project, app=app, interpreter=interpreter, frame_ancestors=ancestors,
                    preload=preload, files=checked, source=path, watchdog_seconds=watchdog)
