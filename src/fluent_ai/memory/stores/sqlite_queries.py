"""Blocking text search, maintenance, statistics and embedding-cache operations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

from fluent_ai.memory.stores.sqlite_codec import filter_sql, fts_query, to_micros, vector_from_blob
from fluent_ai.memory.stores.sqlite_records import transaction
from fluent_ai.memory.stores.sqlite_vectors import prune_log
from fluent_ai.memory.types import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryKind,
    ScoredId,
    StoreStats,
    Vector,
)

__all__ = [
    "delete_expired",
    "get_embeddings",
    "put_embeddings",
    "stats",
    "text_search",
    "vacuum",
]


def text_search(
    conn: sqlite3.Connection,
    namespace: str,
    query: str,
    k: int,
    memory_filter: MemoryFilter | None,
    now: datetime,
) -> list[ScoredId]:
    """BM25 over the FTS5 index; the score is ``-bm25`` so that higher is better."""
    match = fts_query(query)
    if match is None:
        return []
    where, params = filter_sql(memory_filter, now, alias="m")
    rows = conn.execute(
        "SELECT m.id, -bm25(memories_fts) FROM memories_fts "
        "JOIN memories AS m ON m.pk = memories_fts.rowid "
        f"WHERE memories_fts MATCH ? AND m.namespace = ? AND {where} "
        "ORDER BY bm25(memories_fts), m.pk LIMIT ?",
        (match, namespace, *params, k),
    ).fetchall()
    return [ScoredId(memory_id, float(score)) for memory_id, score in rows]


def delete_expired(conn: sqlite3.Connection, now: datetime) -> int:
    with transaction(conn):
        cursor = conn.execute(
            "DELETE FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (to_micros(now),),
        )
        prune_log(conn)
        return cursor.rowcount


def vacuum(conn: sqlite3.Connection) -> None:
    """Prune the vector log, merge FTS5 segments, rewrite the file, truncate the WAL."""
    with transaction(conn):
        prune_log(conn)
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def stats(conn: sqlite3.Connection, path: str, now: datetime) -> StoreStats:
    conn.execute("BEGIN")
    try:
        by_namespace = dict(
            conn.execute("SELECT namespace, count(*) FROM memories GROUP BY namespace")
        )
        by_kind = {
            MemoryKind(kind): count
            for kind, count in conn.execute("SELECT kind, count(*) FROM memories GROUP BY kind")
        }
        (with_embedding,) = conn.execute(
            "SELECT count(*) FROM memories WHERE embedding IS NOT NULL"
        ).fetchone()
        (expired,) = conn.execute(
            "SELECT count(*) FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (to_micros(now),),
        ).fetchone()
        (relations,) = conn.execute("SELECT count(*) FROM relations").fetchone()
        (cached,) = conn.execute("SELECT count(*) FROM embedding_cache").fetchone()
        spaces = {
            namespace: EmbeddingSpace(model, int(size))
            for namespace, model, size in conn.execute(
                "SELECT namespace, model, dimensions FROM spaces"
            )
        }
    finally:
        conn.execute("COMMIT")
    size = sum(
        os.path.getsize(path + suffix)
        for suffix in ("", "-wal")
        if path != ":memory:" and os.path.exists(path + suffix)
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
        size_bytes=size,
    )


def get_embeddings(conn: sqlite3.Connection, model: str, keys: Sequence[str]) -> dict[str, Vector]:
    found: dict[str, Vector] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = conn.execute(
            "SELECT key, vector FROM embedding_cache "
            f"WHERE model = ? AND key IN ({','.join('?' * len(chunk))})",
            (model, *chunk),
        ).fetchall()
        found.update((key, vector_from_blob(blob)) for key, blob in rows)
    return found


def put_embeddings(conn: sqlite3.Connection, model: str, items: Mapping[str, Vector]) -> None:
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO embedding_cache (model, key, vector) VALUES (?, ?, ?)",
            ((model, key, vector.tobytes()) for key, vector in items.items()),
        )
