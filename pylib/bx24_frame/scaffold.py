"""``bx24 new DIR``: a project that runs and passes its tests as created.

The template is ``template/`` in this package: the sample app (``frame/main.py``), a test of
it through the pytest plugin, ``pytest.ini``, ``bx24.toml``, a README and a ``.gitignore``
(stored as ``gitignore``: package data keeps no dotfiles).
"""

from __future__ import annotations

import shutil
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "template"
RENAMED = {"gitignore": ".gitignore"}


class ScaffoldError(ValueError):
    pass


def create(target: Path) -> Path:
    """Copy the template into ``target`` (new or empty); return its resolved path."""
    target = Path(target).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} exists and is not an empty folder: choose a new name")
    for source in sorted(TEMPLATE.rglob("*")):
        rel = source.relative_to(TEMPLATE)
        if "__pycache__" in rel.parts or source.is_dir():
            continue
        destination = target / rel.parent / RENAMED.get(rel.name, rel.name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    return target
