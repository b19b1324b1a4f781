"""Versioned PostgreSQL migrations, applied once under an advisory lock.

One transaction under ``pg_advisory_xact_lock``: processes opening a new database at once
apply each step exactly once, and since DDL is transactional in PostgreSQL, a process
killed mid-way leaves the previous version intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["apply_migrations", "ensure_vector_extension"]


async def apply_migrations(
    conn: psycopg.AsyncConnection[Any],
    migrations: Sequence[Sequence[str]],
    *,
    lock_key: int,
    version_table: str,
    database: str,
    version_error: type[Exception],
    store_error: type[Exception],
) -> None:
    """Install pgvector if needed and apply the ``migrations`` the database lacks.

    ``migrations[i]`` takes the schema from version ``i`` to ``i + 1``; ``database`` names
    the database in the ``version_error`` raised when it is newer than this code.
    """
    latest = len(migrations)
    table = sql.Identifier(version_table)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
        await ensure_vector_extension(conn, store_error)
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        cursor = await conn.execute(sql.SQL("SELECT max(version) FROM {}").format(table))
        row = await cursor.fetchone()
        current = int(row[0]) if row is not None and row[0] is not None else 0
        if current > latest:
            raise version_error(
                f"the {database} has schema version {current}; this fluent-ai knows "
                f"up to {latest}: upgrade fluent-ai to open it"
            )
        for version in range(current, latest):
            for statement in migrations[version]:
                await conn.execute(statement.strip())
            await conn.execute(
                sql.SQL("INSERT INTO {} (version) VALUES (%s)").format(table), (version + 1,)
            )


async def ensure_vector_extension(
    conn: psycopg.AsyncConnection[Any], store_error: type[Exception]
) -> None:
    """Create pgvector unless installed, with an error saying who can fix it if we cannot."""
    cursor = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
    if await cursor.fetchone() is not None:
        return
    try:
        async with conn.transaction():
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.InsufficientPrivilege:
        raise store_error(
            "the pgvector extension is not installed in this database and this user may "
            "not install it: ask an administrator to run `CREATE EXTENSION vector`"
        ) from None
    except (psycopg.errors.UndefinedFile, psycopg.errors.FeatureNotSupported) as exc:
        raise store_error(
            f"this PostgreSQL server has no pgvector extension ({exc.diag.message_primary}): "
            "install pgvector (https://github.com/pgvector/pgvector) on the server"
        ) from None
