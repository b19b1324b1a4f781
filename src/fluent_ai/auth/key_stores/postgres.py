"""API keys in PostgreSQL: one table every server replica reads, so keys are shared.

Connections come from :class:`~fluent_ai.storage.postgres_pool.PostgresPool` (psycopg 3,
nothing blocks the event loop; server errors become :class:`KeyStoreError`). Each change
is one statement, so a rotation or revocation is atomic and seen by every replica's next
lookup. The schema is migrated on open under an advisory lock; unlike the memory and chat
stores it needs no pgvector, so any PostgreSQL (11+) will do.
"""

from __future__ import annotations

import builtins
import hashlib
from datetime import UTC, datetime
from typing import Any

import psycopg

from fluent_ai.auth.key_store import (
    InvalidKeyDataError,
    KeyExistsError,
    KeyNotFoundError,
    KeyRecord,
    KeyRevokedError,
    KeySchemaVersionError,
    KeyStore,
    KeyStoreClosedError,
    KeyStoreError,
)
from fluent_ai.storage.postgres_pool import Conn, PostgresPool

__all__ = ["SCHEMA_VERSION", "PostgresKeyStore"]

_LOCK_KEY = int.from_bytes(hashlib.sha256(b"fluent-ai api keys").digest()[:8], "big", signed=True)

_V1 = (
    """
    CREATE TABLE api_keys (
        key_id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        scopes text NOT NULL,
        rpm integer CHECK (rpm IS NULL OR rpm >= 1),
        tpm bigint CHECK (tpm IS NULL OR tpm >= 1),
        secret_hash text NOT NULL,
        previous_hash text,
        previous_expires_at timestamptz,
        created_at timestamptz NOT NULL,
        rotated_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz
    )
    """,
)
_MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = (
    "key_id, name, scopes, rpm, tpm, secret_hash, previous_hash, previous_expires_at, "
    "created_at, rotated_at, revoked_at, last_used_at"
)
Row = tuple[Any, ...]


async def _migrate(conn: Conn) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` once, even with replicas opening at once.

    The same steps as :func:`fluent_ai.storage.postgres_schema.apply_migrations` (one
    transaction under an advisory lock), without its pgvector requirement.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS api_keys_schema_version ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT max(version) FROM api_keys_schema_version")
        row = await cursor.fetchone()
        current = int(row[0]) if row is not None and row[0] is not None else 0
        if current > SCHEMA_VERSION:
            raise KeySchemaVersionError(
                f"the API key database has schema version {current}; this fluent-ai knows "
                f"up to {SCHEMA_VERSION}: upgrade fluent-ai to open it"
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in _MIGRATIONS[version]:
                await conn.execute(statement.strip())
            await conn.execute(
                "INSERT INTO api_keys_schema_version (version) VALUES (%s)", (version + 1,)
            )


async def _configure(conn: Conn) -> None:
    """Nothing per connection: the key table uses only built-in types."""


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _record(row: Row) -> KeyRecord:
    return KeyRecord(
        key_id=row[0],
        name=row[1],
        scopes=frozenset(row[2].split(",")) - {""},
        rpm=row[3],
        tpm=row[4],
        secret_hash=row[5],
        previous_hash=row[6],
        previous_expires_at=_utc(row[7]),
        created_at=row[8].astimezone(UTC),
        rotated_at=_utc(row[9]),
        revoked_at=_utc(row[10]),
        last_used_at=_utc(row[11]),
    )


async def _insert(conn: Conn, record: KeyRecord) -> None:
    try:
        await conn.execute(
            f"INSERT INTO api_keys ({_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                record.key_id,
                record.name,
                ",".join(sorted(record.scopes)),
                record.rpm,
                record.tpm,
                record.secret_hash,
                record.previous_hash,
                record.previous_expires_at,
                record.created_at,
                record.rotated_at,
                record.revoked_at,
                record.last_used_at,
            ),
        )
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "api_keys_pkey":
            raise KeyExistsError(record.name, conflict="key_id") from None
        raise KeyExistsError(record.name) from None


async def _one(conn: Conn, column: str, value: str) -> KeyRecord | None:
    sql = f"SELECT {_COLUMNS} FROM api_keys WHERE {column} = %s"
    cursor = await conn.execute(sql, (value,))
    row = await cursor.fetchone()
    return None if row is None else _record(row)


async def _list(conn: Conn) -> builtins.list[KeyRecord]:
    cursor = await conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, name")
    return [_record(row) for row in await cursor.fetchall()]


async def _changed(conn: Conn, name: str, sql: str, args: tuple[object, ...]) -> KeyRecord:
    """Run one ``UPDATE … RETURNING`` on the key ``name``; a missing key raises."""
    cursor = await conn.execute(sql, args)
    row = await cursor.fetchone()
    if row is not None:
        return _record(row)
    cursor = await conn.execute("SELECT revoked_at FROM api_keys WHERE name = %s", (name,))
    if await cursor.fetchone() is None:
        raise KeyNotFoundError(name)
    raise KeyRevokedError(name)


async def _rotate(
    conn: Conn, name: str, secret_hash: str, until: datetime, now: datetime
) -> KeyRecord:
    sql = (
        "UPDATE api_keys SET previous_hash = secret_hash, previous_expires_at = %s, "
        "secret_hash = %s, rotated_at = %s WHERE name = %s AND revoked_at IS NULL "
        f"RETURNING {_COLUMNS}"
    )
    return await _changed(conn, name, sql, (until, secret_hash, now, name))


async def _revoke(conn: Conn, name: str, now: datetime) -> KeyRecord:
    sql = (
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) WHERE name = %s "
        f"RETURNING {_COLUMNS}"
    )
    return await _changed(conn, name, sql, (now, name))


async def _touch(conn: Conn, key_id: str, now: datetime, unless_after: datetime) -> bool:
    cursor = await conn.execute(
        "UPDATE api_keys SET last_used_at = %s "
        "WHERE key_id = %s AND (last_used_at IS NULL OR last_used_at <= %s)",
        (now, key_id, unless_after),
    )
    return cursor.rowcount > 0


class PostgresKeyStore(KeyStore):
    """A :class:`KeyStore` in a PostgreSQL database shared by every server replica.

    ``url`` is a libpq URL (``postgresql://user:password@host/db?sslmode=require``).
    """

    def __init__(
        self,
        url: str,
        *,
        min_connections: int = 1,
        max_connections: int = 5,
        timeout: float = 30.0,
    ) -> None:
        self._pool = PostgresPool(
            url,
            min_connections=min_connections,
            max_connections=max_connections,
            timeout=timeout,
            kind="API key",
            configure=_configure,
            migrate=_migrate,
            invalid_error=InvalidKeyDataError,
            store_error=KeyStoreError,
            closed_error=KeyStoreClosedError,
        )

    @property
    def location(self) -> str:
        return self._pool.url

    def __repr__(self) -> str:
        return f"PostgresKeyStore({self.location!r})"

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def insert(self, record: KeyRecord) -> None:
        await self._pool.run(_insert, record)

    async def by_id(self, key_id: str) -> KeyRecord | None:
        return await self._pool.run(_one, "key_id", key_id)

    async def by_name(self, name: str) -> KeyRecord | None:
        return await self._pool.run(_one, "name", name)

    async def list(self) -> builtins.list[KeyRecord]:
        return await self._pool.run(_list)

    async def rotate(
        self, name: str, secret_hash: str, previous_expires_at: datetime, now: datetime
    ) -> KeyRecord:
        return await self._pool.run(_rotate, name, secret_hash, previous_expires_at, now)

    async def revoke(self, name: str, now: datetime) -> KeyRecord:
        return await self._pool.run(_revoke, name, now)

    async def touch(self, key_id: str, now: datetime, *, unless_after: datetime) -> bool:
        return await self._pool.run(_touch, key_id, now, unless_after)
