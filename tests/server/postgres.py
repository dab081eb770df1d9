"""A PostgreSQL server of Debian's `postgresql` package, for a test: its own cluster in a temporary
folder, reachable by a Unix socket only (no TCP port), stopped at the end."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Postgres:
    """``with Postgres() as db: db.url`` — a fresh cluster in a temporary folder, deleted at
    the end. As root it runs as the ``postgres`` user (PostgreSQL refuses to run as root), in a
    folder of /tmp that user can reach."""

    PORT = 5499  # names the socket file only: nothing listens on TCP

    def __init__(self):
        self.bindir = _bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="bx24-postgres-"))
        self.data = self.folder / "data"
        self.socket = self.folder / "socket"
        self.log = self.folder / "postgres.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://bx24@/postgres?host={self.socket}&port={self.PORT}"

    def _run(self, *command) -> None:
        done = subprocess.run(
            [*self._as, *map(str, command)], capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}\n{log}")

    def __enter__(self) -> "Postgres":
        self.socket.mkdir(parents=True)
        if self._as:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.socket, "postgres")
        self._run(
            self.bindir / "initdb",
            "-D",
            self.data,
            "-U",
            "bx24",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._run(
            self.bindir / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.log,
            "-w",
            "-t",
            "30",
            "-o",
            f"-k {self.socket} -p {self.PORT} -c listen_addresses='' -c fsync=off",
            "start",
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(
            [
                *self._as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
