"""Maintenance, statistics and the embedding cache of the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg

from fluent_ai.memory.stores.postgres_codec import as_vector
from fluent_ai.memory.stores.postgres_pool import Conn
from fluent_ai.memory.types import EmbeddingSpace, MemoryKind, StoreStats, Vector

__all__ = ["delete_expired", "get_embeddings", "put_embeddings", "stats", "vacuum"]

_TABLES = ("memories", "memory_relations", "memory_spaces", "memory_embedding_cache")


async def delete_expired(conn: Conn, now: datetime) -> int:
    async with conn.transaction():
        cursor = await conn.execute(
            "DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= %s", (now,)
        )
        return cursor.rowcount


async def vacuum(conn: Conn) -> None:
    """``VACUUM (ANALYZE)``: frees dead rows, repairs HNSW graphs, refreshes planner stats.

    It cannot run inside a transaction, which is why the pool's connections autocommit.
    """
    for table in _TABLES:
        await conn.execute(
            psycopg.sql.SQL("VACUUM (ANALYZE) {}").format(psycopg.sql.Identifier(table))
        )


async def stats(conn: Conn, now: datetime) -> StoreStats:
    """Every count from one snapshot (``REPEATABLE READ``), sizes from the catalogue."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

        async def rows(query: str, *params: Any) -> list[tuple[Any, ...]]:
            cursor = await conn.execute(query, params or None)
            return await cursor.fetchall()

        by_namespace = dict(
            await rows("SELECT namespace, count(*) FROM memories GROUP BY namespace")
        )
        by_kind = {
            MemoryKind(kind): count
            for kind, count in await rows("SELECT kind, count(*) FROM memories GROUP BY kind")
        }
        ((with_embedding, expired),) = await rows(
            "SELECT count(*) FILTER (WHERE embedding IS NOT NULL), "
            "count(*) FILTER (WHERE expires_at IS NOT NULL AND expires_at <= %s) FROM memories",
            now,
        )
        ((relations,),) = await rows("SELECT count(*) FROM memory_relations")
        ((cached,),) = await rows("SELECT count(*) FROM memory_embedding_cache")
        spaces = {
            namespace: EmbeddingSpace(model, int(size))
            for namespace, model, size in await rows(
                "SELECT namespace, model, dimensions FROM memory_spaces"
            )
        }
        ((size,),) = await rows(
            "SELECT coalesce(sum(pg_total_relation_size(t)), 0) FROM unnest(%s::regclass[]) AS t",
            list(_TABLES),
        )
    return StoreStats(
        memories=sum(by_namespace.values()),
        by_namespace=by_namespace,
        by_kind=by_kind,
        with_embedding=with_embedding,
        expired=expired,
        relations=relations,
        cached_embeddings=cached,
        spaces=spaces,
        size_bytes=int(size),
    )


async def get_embeddings(conn: Conn, model: str, keys: Sequence[str]) -> dict[str, Vector]:
    cursor = conn.cursor(binary=True)
    await cursor.execute(
        "SELECT key, vector FROM memory_embedding_cache WHERE model = %s AND key = ANY(%s)",
        (model, list(dict.fromkeys(keys))),
    )
    return {key: as_vector(vector) for key, vector in await cursor.fetchall()}


async def put_embeddings(conn: Conn, model: str, items: Mapping[str, Vector]) -> None:
    """One upsert per item, pipelined by ``executemany``, in one transaction.

    Keys go in sorted order, so two writers caching overlapping batches lock rows in the
    same order and never deadlock.
    """
    async with conn.transaction():
        cursor = conn.cursor()
        await cursor.executemany(
            "INSERT INTO memory_embedding_cache (model, key, vector) VALUES (%s, %s, %b) "
            "ON CONFLICT (model, key) DO UPDATE SET vector = EXCLUDED.vector",
            [(model, key, vector) for key, vector in sorted(items.items())],
        )
