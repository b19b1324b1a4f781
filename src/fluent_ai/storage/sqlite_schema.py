"""Versioned SQLite migrations, applied once even when several processes open a new file.

The version is read inside a ``BEGIN IMMEDIATE`` write transaction, so two processes
opening a new file at once apply each migration exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = ["apply_migrations", "split_statements"]


def apply_migrations(
    conn: sqlite3.Connection,
    migrations: Sequence[str],
    *,
    version_table: str,
    database: str,
    version_error: type[Exception],
) -> None:
    """Apply the migration scripts the database lacks (``migrations[i]``: version i -> i+1).

    ``version_table`` is a fixed identifier of the caller's schema, never user input.
    """
    latest = len(migrations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version INTEGER NOT NULL)")
        row = conn.execute(f"SELECT max(version) FROM {version_table}").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        if current > latest:
            raise version_error(
                f"the {database} has schema version {current}; this fluent-ai knows "
                f"up to {latest}: upgrade fluent-ai to open it"
            )
        for version in range(current, latest):
            for statement in split_statements(migrations[version]):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {version_table} (version) VALUES (?)", (version + 1,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def split_statements(script: str) -> list[str]:
    """Statements of a migration script; trigger bodies stay whole (``END;`` closes them)."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
