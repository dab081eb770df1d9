"""What the application's server keeps for each portal it serves: its tokens, its application
token, the worker's binding, the overtime notices it got and what it did about them.

Behind one small interface (:class:`PortalStore`), two stores:

- SQLite, the default: one file (mode 0600: it holds tokens), shared by the server's worker
  processes on one host (WAL, a busy timeout);
- PostgreSQL (a ``postgresql://`` URL, the ``postgres`` extra: psycopg), for deployments where
  several hosts answer Bitrix24's events and notices.

A portal's record is a JSON object (``domain``, ``client_endpoint``, ``server_endpoint``,
``access_token``, ``refresh_token``, ``expires``, ``application_token``, ``worker``...). Its
refresh token is also a column, so that a rotation is a compare-and-set
(:meth:`PortalStore.rotate`): two hosts refreshing one portal at once never overwrite each
other's newer tokens with older ones.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bx24_portals (member_id TEXT PRIMARY KEY, "
    "refresh_token TEXT, data TEXT NOT NULL, updated DOUBLE PRECISION NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bx24_events (id {serial} PRIMARY KEY, member_id TEXT NOT NULL, "
    "kind TEXT NOT NULL, time DOUBLE PRECISION NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS bx24_events_member ON bx24_events (member_id, kind, time)",
)
MAX_EVENTS_PER_PORTAL = 500


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says why (never with a token)."""


class PortalStore:
    """The interface (see the module doc). Methods are blocking: call them from a thread."""

    def portal(self, member_id: str) -> dict | None:
        raise NotImplementedError

    def save(self, member_id: str, **fields) -> dict:
        """Merge ``fields`` into the portal's record (made if new); the record."""
        raise NotImplementedError

    def rotate(self, member_id: str, old_refresh: str | None, tokens: dict) -> bool:
        """Store ``tokens`` (the new access and refresh tokens) only if the portal's refresh
        token is still ``old_refresh``: False when another host rotated it first."""
        raise NotImplementedError

    def forget(self, member_id: str) -> bool:
        """Delete everything of the portal; whether it was known."""
        raise NotImplementedError

    def add_event(self, member_id: str, kind: str, data: dict, when: float | None = None):
        raise NotImplementedError

    def events(self, member_id: str, kind: str, since: float = 0.0, limit: int = 50) -> list:
        """The portal's events of ``kind`` since ``since``, newest first."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _SqlStore(PortalStore):
    """The SQL shared by both stores; ``P`` is the driver's parameter mark."""

    P = "?"
    SERIAL = "INTEGER"

    def __init__(self):
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._conn: Any = None

    # -- what a driver gives ---------------------------------------------------------------

    def _connect(self):
        raise NotImplementedError

    def _execute(self, sql: str, params=()):
        """Run ``sql`` (``?`` marks) in a transaction of its own; its rows."""
        with self._lock:
            if self._pid != os.getpid():  # a forked worker opens its own connection
                self._conn, self._pid = self._connect(), os.getpid()
            cursor = self._conn.cursor()
            try:
                cursor.execute(sql.replace("?", self.P), params)
                rows = cursor.fetchall() if cursor.description else []
                count = cursor.rowcount
                self._conn.commit()
            except Exception:
                self._conn.rollback()
                raise
            finally:
                cursor.close()
            return rows, count

    def _create(self):
        for attempt in range(3):  # hosts starting together race to make the tables
            try:
                for statement in SCHEMA:
                    self._execute(statement.format(serial=self.SERIAL))
                return
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(0.2)

    # -- the interface ------------------------------------------------------------------------

    def portal(self, member_id):
        rows, _ = self._execute("SELECT data FROM bx24_portals WHERE member_id = ?", (member_id,))
        return json.loads(rows[0][0]) if rows else None

    def save(self, member_id, **fields):
        for _ in range(5):  # another host may write the same portal meanwhile: read again
            current = self.portal(member_id)
            record = {**(current or {}), **fields, "member_id": member_id}
            data = json.dumps(record, sort_keys=True)
            if current is None:
                rows, count = self._execute(
                    "INSERT INTO bx24_portals (member_id, refresh_token, data, updated) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO NOTHING",
                    (member_id, record.get("refresh_token"), data, time.time()),
                )
            else:
                rows, count = self._execute(
                    "UPDATE bx24_portals SET refresh_token = ?, data = ?, updated = ? "
                    "WHERE member_id = ? AND data = ?",
                    (
                        record.get("refresh_token"),
                        data,
                        time.time(),
                        member_id,
                        json.dumps(current, sort_keys=True),
                    ),
                )
            if count == 1:
                return record
        raise StoreError(f"the record of portal {member_id} kept changing: not saved")

    def rotate(self, member_id, old_refresh, tokens):
        current = self.portal(member_id)
        if current is None or current.get("refresh_token") != old_refresh:
            return False
        record = {**current, **tokens}
        _, count = self._execute(
            "UPDATE bx24_portals SET refresh_token = ?, data = ?, updated = ? "
            "WHERE member_id = ? AND refresh_token = ?",
            (
                record.get("refresh_token"),
                json.dumps(record, sort_keys=True),
                time.time(),
                member_id,
                old_refresh,
            ),
        )
        return count == 1

    def forget(self, member_id):
        self._execute("DELETE FROM bx24_events WHERE member_id = ?", (member_id,))
        _, count = self._execute("DELETE FROM bx24_portals WHERE member_id = ?", (member_id,))
        return count > 0

    def add_event(self, member_id, kind, data, when=None):
        self._execute(
            "INSERT INTO bx24_events (member_id, kind, time, data) VALUES (?, ?, ?, ?)",
            (
                member_id,
                kind,
                time.time() if when is None else when,
                json.dumps(data, sort_keys=True),
            ),
        )
        self._execute(  # bounded: the oldest beyond the last MAX_EVENTS_PER_PORTAL go
            "DELETE FROM bx24_events WHERE member_id = ? AND id NOT IN (SELECT id FROM "
            "bx24_events WHERE member_id = ? ORDER BY id DESC LIMIT ?)",
            (member_id, member_id, MAX_EVENTS_PER_PORTAL),
        )

    def events(self, member_id, kind, since=0.0, limit=50):
        rows, _ = self._execute(
            "SELECT time, data FROM bx24_events WHERE member_id = ? AND kind = ? AND time >= ? "
            "ORDER BY id DESC LIMIT ?",
            (member_id, kind, since, int(limit)),
        )
        return [{"time": when, **json.loads(data)} for when, data in rows]

    def close(self):
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


class SqliteStore(_SqlStore):
    """The store in one SQLite file (made with mode 0600)."""

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        try:
            if not self.path.parent.exists():  # a folder of its own: only its owner enters
                self.path.parent.mkdir(parents=True, mode=0o700)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
            self._create()
        except Exception as error:  # OSError, sqlite3.Error: said plainly
            raise StoreError(f"cannot open the portal store {self.path}: {error}") from None

    def _connect(self):
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


class PostgresStore(_SqlStore):
    """The store in a PostgreSQL database (``postgresql://user@host/db``; psycopg)."""

    P = "%s"
    SERIAL = "BIGSERIAL"

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        try:
            import psycopg  # noqa: F401  (the postgres extra)
        except ImportError:
            raise StoreError(
                "a PostgreSQL store needs psycopg: pip install 'bx24-callcard[postgres]'"
            ) from None
        try:
            self._create()
        except Exception as error:
            raise StoreError(
                f"cannot open the portal store at {_safe(url)}: "
                f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            ) from None

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url, connect_timeout=10)

    def __repr__(self) -> str:
        return f"PostgresStore({_safe(self.url)!r})"


def _safe(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return parts.geturl()


def open_store(where: str | os.PathLike) -> PortalStore:
    """The store at ``where``: ``postgresql://...`` (or ``postgres://``), else a SQLite file
    (a path, or ``sqlite:///path``)."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite://") :]
    return SqliteStore(text)
