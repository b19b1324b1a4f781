"""API keys in one SQLite file (``$FLUENT_AI_HOME/keys.db`` by default), for one machine.

The file is created readable by its owner only (0600; SQLite gives its WAL and shared
memory files the same mode). WAL lets ``fluent-ai serve`` read keys while the CLI writes
them; every change is one statement, committed with ``synchronous=FULL`` so a revocation
survives a power loss. Every sqlite3 call runs on the store's own thread
(:class:`~fluent_ai.storage.sqlite_worker.SqliteWorker`). Times are integer microseconds
since the epoch (UTC).
"""

from __future__ import annotations

import builtins
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fluent_ai.auth.key_store import (
    KeyExistsError,
    KeyNotFoundError,
    KeyRecord,
    KeyRevokedError,
    KeySchemaVersionError,
    KeyStore,
    KeyStoreClosedError,
    KeyStoreError,
)
from fluent_ai.storage.sqlite_schema import apply_migrations
from fluent_ai.storage.sqlite_worker import SqliteWorker

__all__ = ["SCHEMA_VERSION", "SqliteKeyStore", "default_path"]

_V1 = """
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    rpm INTEGER CHECK (rpm IS NULL OR rpm >= 1),
    tpm INTEGER CHECK (tpm IS NULL OR tpm >= 1),
    secret_hash TEXT NOT NULL,
    previous_hash TEXT,
    previous_expires_at INTEGER,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER
);
"""
_MIGRATIONS = (_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = (
    "key_id, name, scopes, rpm, tpm, secret_hash, previous_hash, previous_expires_at, "
    "created_at, rotated_at, revoked_at, last_used_at"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Row = tuple[Any, ...]


def default_path() -> Path:
    """``keys.db`` in the configured home (``FLUENT_AI_HOME``, else ``~/.fluent-ai``)."""
    from fluent_ai.config import load_settings

    return load_settings().home / "keys.db"


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // timedelta(microseconds=1)


def _time(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _record(row: Row) -> KeyRecord:
    return KeyRecord(
        key_id=str(row[0]),
        name=str(row[1]),
        scopes=frozenset(str(row[2]).split(",")) - {""},
        rpm=row[3],
        tpm=row[4],
        secret_hash=str(row[5]),
        previous_hash=None if row[6] is None else str(row[6]),
        previous_expires_at=_time(row[7]),
        created_at=_EPOCH + timedelta(microseconds=row[8]),
        rotated_at=_time(row[9]),
        revoked_at=_time(row[10]),
        last_used_at=_time(row[11]),
    )


def _configure(conn: sqlite3.Connection) -> None:
    """Wait for other writers, WAL for readers beside the writer, durable commits."""
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")


def _migrate(conn: sqlite3.Connection) -> None:
    apply_migrations(
        conn,
        _MIGRATIONS,
        version_table="api_keys_schema_version",
        database="API key database",
        version_error=KeySchemaVersionError,
    )


def _insert(conn: sqlite3.Connection, record: KeyRecord) -> None:
    try:
        conn.execute(
            f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.key_id,
                record.name,
                ",".join(sorted(record.scopes)),
                record.rpm,
                record.tpm,
                record.secret_hash,
                record.previous_hash,
                _micros(record.previous_expires_at),
                _micros(record.created_at),
                _micros(record.rotated_at),
                _micros(record.revoked_at),
                _micros(record.last_used_at),
            ),
        )
    except sqlite3.IntegrityError as exc:
        if "api_keys.key_id" in str(exc):
            raise KeyExistsError(record.name, conflict="key_id") from None
        if "api_keys.name" in str(exc):
            raise KeyExistsError(record.name) from None
        raise


def _one(conn: sqlite3.Connection, column: str, value: str) -> KeyRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE {column} = ?", (value,)).fetchone()
    return None if row is None else _record(row)


def _list(conn: sqlite3.Connection) -> builtins.list[KeyRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name").fetchall()
    return [_record(row) for row in rows]


def _changed(conn: sqlite3.Connection, name: str, sql: str, args: tuple[object, ...]) -> Row:
    """Run one ``UPDATE … RETURNING`` on the key ``name``; a missing key raises."""
    rows = conn.execute(sql, args).fetchall()
    if rows:
        return tuple(rows[0])
    exists = conn.execute("SELECT revoked_at FROM api_keys WHERE name = ?", (name,)).fetchone()
    if exists is None:
        raise KeyNotFoundError(name)
    raise KeyRevokedError(name)


def _rotate(
    conn: sqlite3.Connection, name: str, secret_hash: str, until: datetime, now: datetime
) -> KeyRecord:
    sql = (
        "UPDATE api_keys SET previous_hash = secret_hash, previous_expires_at = ?, "
        "secret_hash = ?, rotated_at = ? WHERE name = ? AND revoked_at IS NULL "
        f"RETURNING {_COLUMNS}"
    )
    return _record(_changed(conn, name, sql, (_micros(until), secret_hash, _micros(now), name)))


def _revoke(conn: sqlite3.Connection, name: str, now: datetime) -> KeyRecord:
    sql = (
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE name = ? "
        f"RETURNING {_COLUMNS}"
    )
    return _record(_changed(conn, name, sql, (_micros(now), name)))


def _touch(conn: sqlite3.Connection, key_id: str, now: datetime, unless_after: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE api_keys SET last_used_at = ? "
        "WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
        (_micros(now), key_id, _micros(unless_after)),
    )
    return cursor.rowcount > 0


class SqliteKeyStore(KeyStore):
    """A :class:`KeyStore` in one SQLite file; ``":memory:"`` keeps it in RAM (tests)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = path
        self._db = SqliteWorker(
            None,
            default_path=self._create_file,
            owner="SqliteKeyStore",
            label="API key database",
            thread_name="fluent-ai-keys",
            configure=_configure,
            migrate=_migrate,
            store_error=KeyStoreError,
            closed_error=KeyStoreClosedError,
            on_close=lambda: None,
        )

    def _create_file(self) -> Path:
        """The database path, the file created owner-only if new (runs on the worker)."""
        target = Path(self._path) if self._path is not None else default_path()
        if str(target) == ":memory:":
            return target
        target = target.expanduser()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(target, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise KeyStoreError(f"cannot create the API key database {target}: {exc}") from None
        return target

    @property
    def location(self) -> str:
        return self._db.path or str(self._path or "")

    def __repr__(self) -> str:
        return f"SqliteKeyStore({self.location!r})"

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def insert(self, record: KeyRecord) -> None:
        await self._db.run(_insert, record)

    async def by_id(self, key_id: str) -> KeyRecord | None:
        return await self._db.run(_one, "key_id", key_id)

    async def by_name(self, name: str) -> KeyRecord | None:
        return await self._db.run(_one, "name", name)

    async def list(self) -> builtins.list[KeyRecord]:
        return await self._db.run(_list)

    async def rotate(
        self, name: str, secret_hash: str, previous_expires_at: datetime, now: datetime
    ) -> KeyRecord:
        return await self._db.run(_rotate, name, secret_hash, previous_expires_at, now)

    async def revoke(self, name: str, now: datetime) -> KeyRecord:
        return await self._db.run(_revoke, name, now)

    async def touch(self, key_id: str, now: datetime, *, unless_after: datetime) -> bool:
        return await self._db.run(_touch, key_id, now, unless_after)
