"""The SQLite chat schema and its migrations (one version table, applied in order).

Times are integer microseconds since the epoch (UTC): exact round trips and cheap range
filters. Integer keys (``pk``) link rows; the public ids are unique text columns.

Built for a million messages searched with a filter: ``messages`` carries copies of what
a :class:`~fluent_ai.chat.types.HistoryFilter` asks about (role, model, creation time and
the conversation's session, kept in step when a conversation changes session), so a
full-text match is joined to exactly one row by primary key and filtered there, with no
join to ``conversations``; a tag filter is a semi-join on ``conversation_tags``. The
per-column indexes serve the filter on its own (counts, filtered vector search, paging a
conversation); ``messages_search_filter`` (version 2) holds every filter column keyed by
``pk``, so a search checks each match's filter without reading its row.

Full text is FTS5 with the ``porter unicode61`` tokenizer (English stemming, diacritics
folded), as an external-content index over ``messages.text`` kept in step by triggers,
with an ``fts5vocab`` table over it for term expansion (fuzzy and prefix queries).
``chat_meta.generation`` is bumped by every write transaction: caches key on it.
"""

from __future__ import annotations

import sqlite3

from fluent_ai.chat.stores.errors import ChatSchemaVersionError
from fluent_ai.storage.sqlite_schema import apply_migrations

__all__ = ["SCHEMA_VERSION", "configure", "migrate"]

_V1 = """
CREATE TABLE conversations (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    session TEXT,
    agent TEXT NOT NULL,
    model TEXT NOT NULL,
    current_branch TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    metadata TEXT NOT NULL CHECK (json_valid(metadata))
);
CREATE INDEX conversations_by_update ON conversations (updated_at, id);
CREATE INDEX conversations_by_session ON conversations (session, updated_at, id)
    WHERE session IS NOT NULL;

CREATE TABLE conversation_tags (
    tag TEXT NOT NULL,
    conversation_pk INTEGER NOT NULL REFERENCES conversations (pk) ON DELETE CASCADE,
    PRIMARY KEY (tag, conversation_pk)
) WITHOUT ROWID;
CREATE INDEX conversation_tags_by_conversation ON conversation_tags (conversation_pk, tag);

CREATE TABLE branches (
    conversation_pk INTEGER NOT NULL REFERENCES conversations (pk) ON DELETE CASCADE,
    name TEXT NOT NULL,
    head_pk INTEGER,
    forked_from_pk INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_pk, name)
) WITHOUT ROWID;

CREATE TABLE messages (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_pk INTEGER NOT NULL REFERENCES conversations (pk) ON DELETE CASCADE,
    parent_pk INTEGER,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    session TEXT,
    model TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('complete', 'failed', 'cancelled')),
    created_at INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL,
    text TEXT NOT NULL,
    message TEXT NOT NULL CHECK (json_valid(message)),
    error TEXT,
    metadata TEXT NOT NULL CHECK (json_valid(metadata))
);
CREATE INDEX messages_by_conversation ON messages (conversation_pk, pk);
CREATE INDEX messages_by_time ON messages (created_at);
CREATE INDEX messages_by_session ON messages (session, created_at) WHERE session IS NOT NULL;
CREATE INDEX messages_by_model ON messages (model, created_at);
CREATE INDEX messages_by_role ON messages (role, created_at);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text, content='messages', content_rowid='pk',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE messages_vocab USING fts5vocab (messages_fts, 'row');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.pk, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.pk, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.pk, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.pk, new.text);
END;

CREATE TABLE vector_spaces (
    model TEXT PRIMARY KEY,
    dimensions INTEGER NOT NULL CHECK (dimensions > 0)
) WITHOUT ROWID;
CREATE TABLE message_vectors (
    model TEXT NOT NULL REFERENCES vector_spaces (model),
    message_pk INTEGER NOT NULL REFERENCES messages (pk) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, message_pk)
) WITHOUT ROWID;
CREATE INDEX message_vectors_by_message ON message_vectors (message_pk);
CREATE TABLE vector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    message_pk INTEGER NOT NULL
);
CREATE TRIGGER vector_log_insert AFTER INSERT ON message_vectors BEGIN
    INSERT INTO vector_log (model, message_pk) VALUES (new.model, new.message_pk);
END;
CREATE TRIGGER vector_log_update AFTER UPDATE ON message_vectors BEGIN
    INSERT INTO vector_log (model, message_pk) VALUES (new.model, new.message_pk);
END;
CREATE TRIGGER vector_log_delete AFTER DELETE ON message_vectors BEGIN
    INSERT INTO vector_log (model, message_pk) VALUES (old.model, old.message_pk);
END;

CREATE TABLE chat_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO chat_meta (key, value) VALUES ('generation', 0), ('vector_log_pruned_through', 0);
"""

#: A covering index for the search filter join: each full-text match is checked against
#: its filter columns in this narrow index (tens of MB at a million messages, it stays in
#: the page cache) instead of its wide ``messages`` row (see ``sqlite_search``).
_V2 = """
CREATE INDEX messages_search_filter
    ON messages (pk, role, created_at, session, model, conversation_pk);
"""

#: Each entry takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(_MIGRATIONS)


def configure(conn: sqlite3.Connection) -> None:
    """Per-connection settings: wait for other writers, WAL, enforced foreign keys.

    ``synchronous=NORMAL`` in WAL mode survives a killed process (only a power loss can
    drop the last commits). The page cache is raised to 64 MB: a search touches FTS5
    doclists and message rows scattered over a large file.
    """
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`, once, even with several processes opening."""
    apply_migrations(
        conn,
        _MIGRATIONS,
        version_table="chat_schema_version",
        database="chat history database",
        version_error=ChatSchemaVersionError,
    )
