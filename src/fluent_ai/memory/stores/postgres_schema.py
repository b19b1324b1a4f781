"""The PostgreSQL memory schema, its migrations, and the per-namespace vector indexes.

Vectors live in one ``memories`` table, in an untyped ``vector`` column, because
namespaces may hold vectors of different dimensions (one per embedder). An HNSW index
needs a fixed dimension, so each namespace gets its own *partial expression* index,
built in bulk right after its first vectors are stored (same transaction)::

    CREATE INDEX ... USING hnsw ((embedding::vector(384)) vector_cosine_ops)
        WHERE namespace = 'docs'

and a search orders by exactly that expression with that namespace as a literal, so the
planner can match the index. We chose this over one table per space because records,
full text, filters, relations (foreign keys with ``ON DELETE CASCADE``) and paging then
work on one table with one set of queries, moving a memory between namespaces is an
``UPDATE``, and each namespace's graph holds only its own rows (no cross-namespace
filtering inside the HNSW scan). pgvector's HNSW indexes at most 2,000 dimensions; a
space above that has no index and is searched exactly.

Full text: ``search_text`` is a generated ``tsvector`` under ``fluent_ai_english``, the
``english`` parser with the Snowball English stemmer but *no stop-word list*. Stemming
matches the SQLite store's ``porter`` tokenizer (``running`` finds ``run``), and keeping
stop words matches FTS5 too: ranking weighs each word by its rarity (see
``postgres_search``), so common words cost little, and a query of only common words
still finds something. (``simple`` would not stem; plain ``english`` drops words such as
"it" or "who" that users do search for.) Columns that order or group output are
``COLLATE "C"``, so PostgreSQL sorts ids and namespaces as Python and SQLite do.

Migrations run in one transaction under an advisory lock, so processes opening a new
database at once apply each step exactly once; DDL is transactional in PostgreSQL, so a
process killed mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

from fluent_ai.memory.errors import MemoryStoreError, SchemaVersionError
from fluent_ai.storage.postgres_schema import apply_migrations

__all__ = [
    "HNSW_MAX_DIMENSIONS",
    "SCHEMA_VERSION",
    "TEXT_CONFIG",
    "create_space_index",
    "index_name",
    "indexable",
    "migrate",
]

#: pgvector's limit for an HNSW index on ``vector``.
HNSW_MAX_DIMENSIONS = 2_000
#: The text search configuration the ``search_text`` column is built with.
TEXT_CONFIG = "fluent_ai_english"
#: HNSW build parameters (pgvector's defaults; recall is tuned at search time).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
#: Most ``maintenance_work_mem`` a namespace's first bulk index build asks for (kB).
_MAX_BUILD_MEMORY_KB = 1024 * 1024
#: ``pg_advisory_xact_lock`` key serialising migrations ("fluent-ai memory", as a bigint).
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"fluent-ai memory").digest()[:8], "big", signed=True)

_V1 = (
    """
    CREATE TEXT SEARCH DICTIONARY fluent_ai_english_stem (TEMPLATE = snowball, Language = english)
    """,
    f"CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = english)",
    f"""
    ALTER TEXT SEARCH CONFIGURATION {TEXT_CONFIG}
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH fluent_ai_english_stem
    """,
    f"""
    CREATE TABLE memories (
        id text COLLATE "C" PRIMARY KEY,
        namespace text COLLATE "C" NOT NULL,
        kind text NOT NULL
            CHECK (kind IN ('semantic', 'episodic', 'procedural', 'working')),
        content text NOT NULL CHECK (length(content) > 0),
        metadata jsonb NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
        importance double precision NOT NULL CHECK (importance BETWEEN 0 AND 1),
        created_at timestamptz NOT NULL,
        last_accessed_at timestamptz NOT NULL,
        access_count bigint NOT NULL CHECK (access_count >= 0),
        expires_at timestamptz,
        derived_from text[] NOT NULL,
        embedding vector,
        search_text tsvector
            GENERATED ALWAYS AS (to_tsvector('{TEXT_CONFIG}'::regconfig, content)) STORED
    )
    """,
    "CREATE INDEX memories_by_namespace ON memories (namespace, created_at, id)",
    "CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL",
    "CREATE INDEX memories_text ON memories USING gin (search_text)",
    """
    CREATE TABLE memory_relations (
        source_id text COLLATE "C" NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        target_id text COLLATE "C" NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        type text COLLATE "C" NOT NULL,
        created_at timestamptz NOT NULL,
        metadata jsonb NOT NULL,
        PRIMARY KEY (source_id, target_id, type)
    )
    """,
    "CREATE INDEX memory_relations_by_target ON memory_relations (target_id)",
    """
    CREATE TABLE memory_spaces (
        namespace text COLLATE "C" PRIMARY KEY,
        model text NOT NULL,
        dimensions integer NOT NULL CHECK (dimensions > 0),
        index_name text
    )
    """,
    """
    CREATE TABLE memory_embedding_cache (
        model text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        vector vector NOT NULL,
        PRIMARY KEY (model, key)
    )
    """,
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
        version_table="memory_schema_version",
        database="memory database",
        version_error=SchemaVersionError,
        store_error=MemoryStoreError,
    )


def index_name(namespace: str) -> str:
    """The HNSW index of a namespace: a hash, since namespaces may be longer than 63 bytes."""
    return "memories_hnsw_" + hashlib.sha256(namespace.encode()).hexdigest()[:24]


def indexable(dimensions: int) -> bool:
    """Whether pgvector can build an HNSW index on vectors of this size."""
    return dimensions <= HNSW_MAX_DIMENSIONS


async def create_space_index(
    conn: psycopg.AsyncConnection[Any], namespace: str, dimensions: int, *, rows: int
) -> None:
    """Build the namespace's HNSW index inside the caller's transaction (if it can have one).

    pgvector builds fast while the graph fits in ``maintenance_work_mem`` and crawls once
    it does not, so that setting is raised for this transaction to what ``rows`` vectors
    need (about ``4 * dimensions + 512`` bytes each), never lowered, at most 1 GB.
    """
    if not indexable(dimensions):
        return
    needed_kb = min(_MAX_BUILD_MEMORY_KB, rows * (4 * dimensions + 512) * 5 // 4 // 1024)
    await conn.execute(
        "SELECT set_config('maintenance_work_mem', greatest("
        "pg_size_bytes(current_setting('maintenance_work_mem')) / 1024, %s)::text || 'kB', true)",
        (needed_kb,),
    )
    await conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON memories USING hnsw "
            "((embedding::vector({dims})) vector_cosine_ops) "
            "WITH (m = {m}, ef_construction = {ef}) WHERE namespace = {namespace}"
        ).format(
            name=sql.Identifier(index_name(namespace)),
            dims=sql.Literal(dimensions),
            m=sql.Literal(HNSW_M),
            ef=sql.Literal(HNSW_EF_CONSTRUCTION),
            namespace=sql.Literal(namespace),
        )
    )
