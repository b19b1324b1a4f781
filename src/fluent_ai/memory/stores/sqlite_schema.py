"""The SQLite memory schema and its migrations (one version table, applied in order).

Times are integer microseconds since the epoch (UTC): exact round trips and cheap range
filters. ``memories.pk`` is the row id the FTS5 index (external content, kept in sync by
triggers) and the vector index use. ``vector_log`` records every row whose vector may have
changed, so each process's in-memory vector index can catch up with other writers.
"""

from __future__ import annotations

import sqlite3

from fluent_ai.memory.errors import SchemaVersionError
from fluent_ai.storage.sqlite_schema import apply_migrations

__all__ = ["SCHEMA_VERSION", "configure", "migrate"]

_V1 = """
CREATE TABLE memories (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('semantic', 'episodic', 'procedural', 'working')),
    content TEXT NOT NULL CHECK (length(content) > 0),
    metadata TEXT NOT NULL CHECK (json_valid(metadata)),
    importance REAL NOT NULL CHECK (importance BETWEEN 0 AND 1),
    created_at INTEGER NOT NULL,
    last_accessed_at INTEGER NOT NULL,
    access_count INTEGER NOT NULL CHECK (access_count >= 0),
    expires_at INTEGER,
    derived_from TEXT NOT NULL CHECK (json_valid(derived_from)),
    embedding BLOB
);
CREATE INDEX memories_by_namespace ON memories (namespace, created_at, id);
CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    content, content='memories', content_rowid='pk',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content) VALUES (new.pk, new.content);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.pk, old.content);
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.pk, old.content);
    INSERT INTO memories_fts (rowid, content) VALUES (new.pk, new.content);
END;

CREATE TABLE vector_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, pk INTEGER NOT NULL);
CREATE TRIGGER vector_log_insert AFTER INSERT ON memories WHEN new.embedding IS NOT NULL BEGIN
    INSERT INTO vector_log (pk) VALUES (new.pk);
END;
CREATE TRIGGER vector_log_delete AFTER DELETE ON memories WHEN old.embedding IS NOT NULL BEGIN
    INSERT INTO vector_log (pk) VALUES (old.pk);
END;
CREATE TRIGGER vector_log_update AFTER UPDATE OF embedding, namespace ON memories BEGIN
    INSERT INTO vector_log (pk) VALUES (new.pk);
END;

CREATE TABLE relations (
    source_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    metadata TEXT NOT NULL CHECK (json_valid(metadata)),
    PRIMARY KEY (source_id, target_id, type)
) WITHOUT ROWID;
CREATE INDEX relations_by_target ON relations (target_id);

CREATE TABLE spaces (
    namespace TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    dimensions INTEGER NOT NULL CHECK (dimensions > 0)
) WITHOUT ROWID;

CREATE TABLE embedding_cache (
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;

CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO store_meta (key, value) VALUES ('vector_log_pruned_through', 0);
"""

#: Each entry takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)


def configure(conn: sqlite3.Connection) -> None:
    """Per-connection settings: wait for other writers, WAL, enforced foreign keys.

    ``synchronous=NORMAL`` in WAL mode survives a killed process (only a power loss can
    drop the last commits), at a fraction of ``FULL``'s fsync cost.
    """
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`, once, even with several processes opening."""
    apply_migrations(
        conn,
        _MIGRATIONS,
        version_table="schema_version",
        database="memory database",
        version_error=SchemaVersionError,
    )
