"""The PostgreSQL chat schema and its migrations (applied under an advisory lock).

Tables are prefixed ``chat_`` so the chat history can share a database with the memory
store. Ids are the keys (``COLLATE "C"``, so they sort as in Python and SQLite); messages
carry copies of what a history filter asks about (role, model, time and the
conversation's session), each indexed, so a search filters on the one row it found.

Full text: ``search_text`` is a generated ``tsvector`` under ``fluent_ai_chat``: the
``english`` parser with the Snowball English stemmer and *no stop-word list*. Snowball
English is Porter's successor, so the stems match the SQLite store's ``porter``
tokenizer on everyday words (``running``/``runs`` → ``run``) and a query finds the same
messages on both backends; keeping stop words matches FTS5 too (``simple`` would not
stem; plain ``english`` silently drops words like "it" or "who" that users do search
for, and a phrase containing one would then match differently). A GIN index serves
``@@``. ``chat_terms`` keeps every indexed term (for prefix and fuzzy expansion without
scanning the index). ``message``/``metadata`` are ``json`` (not ``jsonb``), so they come
back exactly as written.

Vectors use pgvector's untyped ``vector`` column (one embedding model per row), searched
exactly with ``<=>`` after the filter.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from fluent_ai.chat.stores.errors import ChatSchemaVersionError, ChatStoreError
from fluent_ai.storage.postgres_schema import apply_migrations

__all__ = ["SCHEMA_VERSION", "TEXT_CONFIG", "migrate"]

TEXT_CONFIG = "fluent_ai_chat"
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"fluent-ai chat").digest()[:8], "big", signed=True)

_V1 = (
    "CREATE TEXT SEARCH DICTIONARY fluent_ai_chat_stem (TEMPLATE = snowball, Language = english)",
    f"CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = english)",
    f"""
    ALTER TEXT SEARCH CONFIGURATION {TEXT_CONFIG}
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH fluent_ai_chat_stem
    """,
    """
    CREATE TABLE chat_conversations (
        id text COLLATE "C" PRIMARY KEY,
        title text NOT NULL,
        session text COLLATE "C",
        agent text NOT NULL,
        model text NOT NULL,
        current_branch text COLLATE "C" NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        metadata json NOT NULL
    )
    """,
    "CREATE INDEX chat_conversations_by_update ON chat_conversations (updated_at, id)",
    """
    CREATE INDEX chat_conversations_by_session ON chat_conversations (session, updated_at)
        WHERE session IS NOT NULL
    """,
    """
    CREATE TABLE chat_tags (
        tag text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C" NOT NULL
            REFERENCES chat_conversations (id) ON DELETE CASCADE,
        PRIMARY KEY (tag, conversation_id)
    )
    """,
    "CREATE INDEX chat_tags_by_conversation ON chat_tags (conversation_id)",
    """
    CREATE TABLE chat_branches (
        conversation_id text COLLATE "C" NOT NULL
            REFERENCES chat_conversations (id) ON DELETE CASCADE,
        name text COLLATE "C" NOT NULL,
        head_id text COLLATE "C",
        forked_from text COLLATE "C",
        created_at timestamptz NOT NULL,
        PRIMARY KEY (conversation_id, name)
    )
    """,
    f"""
    CREATE TABLE chat_messages (
        id text COLLATE "C" PRIMARY KEY,
        conversation_id text COLLATE "C" NOT NULL
            REFERENCES chat_conversations (id) ON DELETE CASCADE,
        parent_id text COLLATE "C",
        role text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
        session text COLLATE "C",
        model text NOT NULL,
        status text NOT NULL CHECK (status IN ('complete', 'failed', 'cancelled')),
        created_at timestamptz NOT NULL,
        input_tokens bigint NOT NULL,
        output_tokens bigint NOT NULL,
        cost_usd double precision,
        text text NOT NULL,
        message json NOT NULL,
        error text,
        metadata json NOT NULL,
        search_text tsvector
            GENERATED ALWAYS AS (to_tsvector('{TEXT_CONFIG}'::regconfig, text)) STORED
    )
    """,
    "CREATE INDEX chat_messages_by_conversation ON chat_messages (conversation_id, created_at)",
    "CREATE INDEX chat_messages_by_time ON chat_messages (created_at)",
    """
    CREATE INDEX chat_messages_by_session ON chat_messages (session, created_at)
        WHERE session IS NOT NULL
    """,
    "CREATE INDEX chat_messages_by_model ON chat_messages (model, created_at)",
    "CREATE INDEX chat_messages_by_role ON chat_messages (role, created_at)",
    "CREATE INDEX chat_messages_text ON chat_messages USING gin (search_text)",
    'CREATE TABLE chat_terms (term text COLLATE "C" PRIMARY KEY)',
    """
    CREATE TABLE chat_vector_spaces (
        model text COLLATE "C" PRIMARY KEY,
        dimensions integer NOT NULL CHECK (dimensions > 0)
    )
    """,
    """
    CREATE TABLE chat_vectors (
        model text COLLATE "C" NOT NULL REFERENCES chat_vector_spaces (model),
        message_id text COLLATE "C" NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
        vector vector NOT NULL,
        PRIMARY KEY (model, message_id)
    )
    """,
    "CREATE INDEX chat_vectors_by_message ON chat_vectors (message_id)",
    "CREATE TABLE chat_meta (key text PRIMARY KEY, value bigint NOT NULL)",
    "INSERT INTO chat_meta (key, value) VALUES ('generation', 0)",
)

#: Each entry takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)


async def migrate(conn: psycopg.AsyncConnection[Any]) -> None:
    """Install pgvector if needed and bring the schema to :data:`SCHEMA_VERSION`, once."""
    await apply_migrations(
        conn,
        _MIGRATIONS,
        lock_key=_LOCK_KEY,
        version_table="chat_schema_version",
        database="chat history database",
        version_error=ChatSchemaVersionError,
        store_error=ChatStoreError,
    )
