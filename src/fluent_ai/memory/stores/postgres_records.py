"""Record operations of the PostgreSQL store, each one transaction on a pooled connection.

They assume validated arguments (the store checks them first). Rows that a write changes
are locked in id order (``ORDER BY id FOR UPDATE``) so that concurrent writers touching
overlapping sets wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from fluent_ai.memory.errors import (
    DimensionMismatchError,
    DuplicateMemoryError,
    InvalidMemoryError,
    MemoryNotFoundError,
)
from fluent_ai.memory.stores.postgres_codec import (
    COPY_TYPES,
    MEMORY_COLUMNS,
    RELATION_COLUMNS,
    filter_sql,
    memory_from_row,
    memory_row,
    relation_from_row,
)
from fluent_ai.memory.stores.postgres_pool import Conn
from fluent_ai.memory.stores.postgres_schema import create_space_index, index_name, indexable
from fluent_ai.memory.types import EmbeddingSpace, Memory, MemoryFilter, Relation

__all__ = [
    "add",
    "claim_space",
    "count",
    "delete",
    "get",
    "list_page",
    "namespaces",
    "neighbours",
    "relate",
    "space",
    "touch",
    "unrelate",
    "update",
]


async def space(conn: Conn, namespace: str) -> EmbeddingSpace | None:
    cursor = await conn.execute(
        "SELECT model, dimensions FROM memory_spaces WHERE namespace = %s", (namespace,)
    )
    row = await cursor.fetchone()
    return None if row is None else EmbeddingSpace(row[0], int(row[1]))


async def claim_space(conn: Conn, namespace: str, model: str | None, size: int) -> bool:
    """Record the namespace's space on its first vector; refuse a vector that does not fit.

    Returns True when this call created the space: the caller then builds its HNSW index
    (:func:`create_space_index`) once its rows are in, in the same transaction. A first
    claim takes a self-exclusive lock on ``memories`` before checking again, so two
    processes claiming at once cannot both create it (or deadlock doing so); the lock
    holds other writers back until the transaction ends.
    """
    known = await space(conn, namespace)
    if known is None:
        if model is None:
            raise InvalidMemoryError(
                f"namespace {namespace!r} has no vectors yet: pass model= (the embedder's "
                "model id) with its first vector"
            )
        await conn.execute("LOCK TABLE memories IN SHARE ROW EXCLUSIVE MODE")
        known = await space(conn, namespace)
        if known is None:
            await conn.execute(
                "INSERT INTO memory_spaces (namespace, model, dimensions, index_name) "
                "VALUES (%s, %s, %s, %s)",
                (namespace, model, size, index_name(namespace) if indexable(size) else None),
            )
            return True
    if known.dimensions != size or (model is not None and model != known.model):
        raise DimensionMismatchError(
            namespace,
            expected_model=known.model,
            expected_dimensions=known.dimensions,
            model=model,
            dimensions=size,
        )
    return False


async def add(conn: Conn, memories: Sequence[Memory], model: str | None) -> None:
    """One binary ``COPY`` inside one transaction: all rows or none.

    A namespace's first batch is copied before its HNSW index exists, and the index is
    then built in bulk: many times faster than inserting each row into the graph.
    """
    try:
        async with conn.transaction():
            sizes = Counter(
                (m.namespace, len(m.embedding)) for m in memories if m.embedding is not None
            )
            fresh = [
                (namespace, size, count)
                for (namespace, size), count in sorted(sizes.items())
                if await claim_space(conn, namespace, model, size)
            ]
            cursor = conn.cursor()
            async with cursor.copy(
                f"COPY memories ({MEMORY_COLUMNS}, embedding) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(list(COPY_TYPES))
                for memory in memories:
                    await copy.write_row(memory_row(memory))
            for namespace, size, count in fresh:
                await create_space_index(conn, namespace, size, rows=count)
    except psycopg.errors.UniqueViolation:
        cursor = await conn.execute(
            "SELECT id FROM memories WHERE id = ANY(%s)", ([m.id for m in memories],)
        )
        taken = [row[0] for row in await cursor.fetchall()]
        raise DuplicateMemoryError(taken or [m.id for m in memories]) from None


async def get(conn: Conn, ids: Sequence[str]) -> list[Memory]:
    cursor = conn.cursor(binary=True)
    await cursor.execute(
        f"SELECT {MEMORY_COLUMNS}, embedding FROM memories WHERE id = ANY(%s)", (list(ids),)
    )
    found = {row[0]: memory_from_row(row) for row in await cursor.fetchall()}
    return [found[memory_id] for memory_id in ids if memory_id in found]


async def update(conn: Conn, memory: Memory, model: str | None) -> None:
    async with conn.transaction():
        cursor = await conn.execute(
            "SELECT namespace, vector_dims(embedding) FROM memories WHERE id = %s FOR UPDATE",
            (memory.id,),
        )
        row = await cursor.fetchone()
        if row is None:
            raise MemoryNotFoundError([memory.id])
        old_namespace, stored_size = row
        size = len(memory.embedding) if memory.embedding is not None else None
        claim_model = model
        if size is None and stored_size is not None and old_namespace != memory.namespace:
            old_space = await space(conn, old_namespace)
            size, claim_model = stored_size, old_space.model if old_space else model
        if size is not None and await claim_space(conn, memory.namespace, claim_model, size):
            await create_space_index(conn, memory.namespace, size, rows=1)
        values = memory_row(memory)
        await conn.execute(
            "UPDATE memories SET namespace = %s, kind = %s, content = %s, metadata = %s, "
            "importance = %s, created_at = %s, last_accessed_at = %s, access_count = %s, "
            "expires_at = %s, derived_from = %s, embedding = coalesce(%s, embedding) "
            "WHERE id = %s",
            (*values[1:], memory.id),
        )


async def delete(conn: Conn, ids: Sequence[str]) -> int:
    async with conn.transaction():
        cursor = await conn.execute(
            "DELETE FROM memories WHERE id IN "
            "(SELECT id FROM memories WHERE id = ANY(%s) ORDER BY id FOR UPDATE)",
            (list(ids),),
        )
        return cursor.rowcount


async def touch(conn: Conn, ids: Sequence[str], at: datetime) -> None:
    async with conn.transaction():
        await conn.execute(
            "UPDATE memories AS m SET access_count = m.access_count + 1, last_accessed_at = %s "
            "FROM (SELECT id FROM memories WHERE id = ANY(%s) ORDER BY id FOR UPDATE) AS s "
            "WHERE m.id = s.id",
            (at, list(ids)),
        )


async def count(
    conn: Conn, namespace: str, memory_filter: MemoryFilter | None, now: datetime
) -> int:
    where, params = filter_sql(memory_filter, now)
    query = sql.SQL("SELECT count(*) FROM memories WHERE namespace = %s AND {}").format(where)
    row = await (await conn.execute(query, (namespace, *params))).fetchone()
    return int(row[0]) if row else 0


async def namespaces(conn: Conn) -> list[str]:
    cursor = await conn.execute("SELECT DISTINCT namespace FROM memories ORDER BY namespace")
    return [row[0] for row in await cursor.fetchall()]


async def list_page(
    conn: Conn,
    namespace: str,
    memory_filter: MemoryFilter | None,
    now: datetime,
    limit: int,
    offset: int,
    with_embeddings: bool,
) -> list[Memory]:
    where, params = filter_sql(memory_filter, now)
    columns = MEMORY_COLUMNS + (", embedding" if with_embeddings else "")
    query = sql.SQL(
        "SELECT {columns} FROM memories WHERE namespace = %s AND {where} "
        "ORDER BY created_at, id LIMIT %s OFFSET %s"
    ).format(columns=sql.SQL(columns), where=where)
    cursor = conn.cursor(binary=True)
    await cursor.execute(query, (namespace, *params, limit, offset))
    return [memory_from_row(row) for row in await cursor.fetchall()]


async def relate(conn: Conn, relation: Relation) -> None:
    async with conn.transaction():
        ends = [relation.source_id, relation.target_id]
        cursor = await conn.execute(
            "SELECT id FROM memories WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", (ends,)
        )
        present = {row[0] for row in await cursor.fetchall()}
        missing = [memory_id for memory_id in ends if memory_id not in present]
        if missing:
            raise MemoryNotFoundError(missing)
        await conn.execute(
            f"INSERT INTO memory_relations ({RELATION_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (source_id, target_id, type) DO UPDATE "
            "SET created_at = EXCLUDED.created_at, metadata = EXCLUDED.metadata",
            (
                relation.source_id,
                relation.target_id,
                relation.type,
                relation.created_at,
                Jsonb(relation.metadata),
            ),
        )


async def unrelate(conn: Conn, source_id: str, target_id: str, type: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM memory_relations WHERE source_id = %s AND target_id = %s AND type = %s",
        (source_id, target_id, type),
    )
    return cursor.rowcount > 0


async def neighbours(conn: Conn, ids: Sequence[str], types: Sequence[str] | None) -> list[Relation]:
    """Relations touching ``ids`` (of ``types``, when any), by creation time, then key."""
    kinds = list(types) if types else None
    cursor = await conn.execute(
        f"SELECT {RELATION_COLUMNS} FROM memory_relations "
        "WHERE (source_id = ANY(%s) OR target_id = ANY(%s)) "
        "AND (%s::text[] IS NULL OR type = ANY(%s::text[]))",
        (list(ids), list(ids), kinds, kinds),
    )
    found = [relation_from_row(row) for row in await cursor.fetchall()]
    return sorted(found, key=lambda r: (r.created_at, r.source_id, r.target_id, r.type))
