"""A bx24 project's settings: ``bx24.toml`` at the project's root, every key optional.

::

    app = "frame"                  # the folder with main.py and your other modules
    interpreter = "pyodide"        # when the handler URL has no ?interpreter= (or "micropython")
    frame_ancestors = "'self' https://*.bitrix24.com https://portal.example.com"
    preload = ["decimal"]          # stdlib modules imported into the Pyodide snapshot
    watchdog_seconds = 8           # a boot with no progress for this long is reported as stuck
    python_frames = 2              # an operator's frames that run Python ("all": every one)

    [files]                        # other files the frame's Python reads, from the app folder
    "data/prompts.json" = "prompts.json"      # -> path inside the interpreter

    [application]                  # the Bitrix24 application around the worker (install page)
    title = "Softphone"            # the worker binding's TITLE (lang_all: per language)
    users = []                     # bind the worker for these user ids only ([]: everyone)
    worker_url = ""                # default: the worker page beside the install page
    error_handler_url = ""         # default: the app's server's (its own per portal)
    [[application.lines]]          # telephony lines to create
    number = "line1"
    name = "Support"
    [application.options]          # application options to set (app.option.set)
    greeting = "Hello"

(``app`` names the folder, so the application's settings are ``[application]``.)

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
KEYS = (
    "app",
    "interpreter",
    "frame_ancestors",
    "preload",
    "files",
    "watchdog_seconds",
    "python_frames",
    "application",
)
APPLICATION_KEYS = (
    "title",
    "description",
    "lang_all",
    "worker_url",
    "error_handler_url",
    "users",
    "lines",
    "options",
)
DEFAULT_TITLE = "Softphone"
DEFAULT_WATCHDOG_SECONDS = 8
# The oldest of an operator's frames that run Python: the leader, and a stand-in that takes
# over at once when the leader's page goes (docs/performance.md, "Ten tabs"); the others relay.
DEFAULT_PYTHON_FRAMES = 2
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class SettingsError(ValueError):
    """``bx24.toml`` or the app folder is not usable; the message says what to change."""


class Settings:
    """The settings of the project at ``project_dir`` (see the module doc)."""

    def __init__(
        self,
        project_dir: Path,
        *,
        app: str = DEFAULT_APP,
        interpreter: str = "pyodide",
        frame_ancestors: str | None = None,
        preload: list[str] | None = None,
        files: dict[str, str] | None = None,
        source: Path | None = None,
        watchdog_seconds: float = DEFAULT_WATCHDOG_SECONDS,
        python_frames: int = DEFAULT_PYTHON_FRAMES,
        application: dict | None = None,
    ):
        self.project_dir = Path(project_dir).resolve()
        self.source = source
        self.app_dir = (self.project_dir / app).resolve()
        self.interpreter = interpreter
        self.frame_ancestors = frame_ancestors
        self.preload = list(preload or [])
        self.files = dict(files or {})
        self.watchdog_seconds = watchdog_seconds
        # 0: every frame (bx24.toml's "all")
        self.python_frames = python_frames
        # the [application] table, checked and with its defaults (what the app pages read)
        self.app = application if application is not None else application_settings({})

    @property
    def entry(self) -> Path:
        return self.app_dir / ENTRY

    def check_app(self) -> None:
        """Raise :class:`SettingsError` when there is no app to serve."""
        if not self.entry.is_file():
            where = f" (app = {self.app_dir} in {self.source})" if self.source else ""
            raise SettingsError(
                f"no {ENTRY} in {self.app_dir}{where}: a bx24 app is a folder with main.py "
                f"(create a project with `bx24 new DIR`, or set `app` in {SETTINGS_FILE})"
            )

    def __repr__(self) -> str:
        return (
            f"Settings(project_dir={str(self.project_dir)!r}, app_dir={str(self.app_dir)!r}, "
            f"interpreter={self.interpreter!r})"
        )


def _where(path: Path, key: str) -> str:
    return f"{path}: `{key}`"


def _relative_inside(path: Path, key: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{_where(path, key)} must be a non-empty path, not {value!r}")
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value:
        raise SettingsError(
            f"{_where(path, key)}: {value!r} must be a relative path inside "
            "the folder, without '..'"
        )
    return str(pure)


def application_settings(table, path: Path | None = None) -> dict:
    """An ``[application]`` table, checked, every key present (see the module doc)."""
    where = f"{path}: [application]" if path else "[application]"
    if not isinstance(table, dict):
        raise SettingsError(f"{where} is a table")
    unknown = sorted(set(table) - set(APPLICATION_KEYS))
    if unknown:
        raise SettingsError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(APPLICATION_KEYS)}"
        )
    out: dict = {}
    for key, default in (
        ("title", DEFAULT_TITLE),
        ("description", ""),
        ("worker_url", ""),
        ("error_handler_url", ""),
    ):
        value = table.get(key, default)
        if not isinstance(value, str):
            raise SettingsError(f"{where}: `{key}` is a string, not {value!r}")
        if key.endswith("_url") and value and not value.startswith(("https://", "http://")):
            raise SettingsError(f"{where}: `{key}` is an http(s) URL, not {value!r}")
        out[key] = value
    lang_all = table.get("lang_all", {})
    if not isinstance(lang_all, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values())
        for v in lang_all.values()
    ):
        raise SettingsError(
            f"{where}: `lang_all` is a table per language, e.g. "
            'lang_all.de = {TITLE = "Telefon", DESCRIPTION = ""}'
        )
    out["lang_all"] = {
        lang: {k.upper(): v for k, v in texts.items()} for lang, texts in lang_all.items()
    }
    users = table.get("users", [])
    if not isinstance(users, list) or not all(type(u) is int and u > 0 for u in users):
        raise SettingsError(f"{where}: `users` is a list of user ids (numbers), not {users!r}")
    out["users"] = sorted(set(users))
    lines = table.get("lines", [])
    if not isinstance(lines, list):
        raise SettingsError(f"{where}: `lines` is an array of tables ([[application.lines]])")
    out["lines"] = []
    for line in lines:
        if (
            not isinstance(line, dict)
            or not isinstance(line.get("number"), str)
            or not line["number"].strip()
            or set(line) - {"number", "name", "crm_auto_create"}
            or not isinstance(line.get("name", ""), str)
            or not isinstance(line.get("crm_auto_create", True), bool)
        ):
            raise SettingsError(
                f"{where}: each of `lines` has a `number` (a string), and may "
                f"have a `name` and `crm_auto_create` (true/false), not {line!r}"
            )
        out["lines"].append(
            {
                "number": line["number"].strip(),
                "name": line.get("name") or line["number"].strip(),
                "crm_auto_create": line.get("crm_auto_create", True),
            }
        )
    options = table.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(v, (str, int, float, bool)) for v in options.values()
    ):
        raise SettingsError(f"{where}: `options` is a table of names and plain values")
    out["options"] = dict(options)
    return out


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
        raise SettingsError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(KEYS)}"
        )
    app = data.get("app", DEFAULT_APP)
    if isinstance(app, dict):
        raise SettingsError(
            f"{path}: `app` names the app folder (a string); the application's "
            "settings go in [application]"
        )
    if app != ".":
        app = _relative_inside(path, "app", app)
    interpreter = data.get("interpreter", "pyodide")
    if interpreter not in INTERPRETERS:
        raise SettingsError(
            f"{_where(path, 'interpreter')} is {interpreter!r}; "
            f"use one of {', '.join(INTERPRETERS)}"
        )
    ancestors = data.get("frame_ancestors")
    if ancestors is not None and (not isinstance(ancestors, str) or not ancestors.split()):
        raise SettingsError(
            f"{_where(path, 'frame_ancestors')} is a space-separated list of "
            "CSP sources, e.g. \"'self' https://portal.example.com\""
        )
    preload = data.get("preload", [])
    if not isinstance(preload, list) or not all(
        isinstance(name, str) and _MODULE_NAME.fullmatch(name) for name in preload
    ):
        raise SettingsError(
            f"{_where(path, 'preload')} is a list of module names, "
            f'e.g. ["decimal", "xml.etree.ElementTree"], not {preload!r}'
        )
    watchdog = data.get("watchdog_seconds", DEFAULT_WATCHDOG_SECONDS)
    if type(watchdog) not in (int, float) or not 1 <= watchdog <= 600:
        raise SettingsError(
            f"{_where(path, 'watchdog_seconds')} is a number of seconds "
            f"from 1 to 600, not {watchdog!r}"
        )
    python_frames = data.get("python_frames", DEFAULT_PYTHON_FRAMES)
    if python_frames == "all":
        python_frames = 0
    elif type(python_frames) is not int or not 1 <= python_frames <= 50:
        raise SettingsError(
            f"{_where(path, 'python_frames')} is how many of an operator's frames run Python, "
            f'from 1 to 50, or "all", not {python_frames!r}'
        )
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise SettingsError(f'{_where(path, "files")} is a table of "source" = "target"')
    checked = {}
    for source, target in files.items():
        checked[_relative_inside(path, "files", source)] = _relative_inside(path, "files", target)
    return Settings(
        project,
        app=app,
        interpreter=interpreter,
        frame_ancestors=ancestors,
        preload=preload,
        files=checked,
        source=path,
        watchdog_seconds=watchdog,
        python_frames=python_frames,
        application=application_settings(data.get("application", {}), path),
    )
