"""Blocking record operations of the SQLite store, each one transaction on its connection.

The async store runs these on its own thread; they assume arguments already validated.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from fluent_ai.memory.errors import (
    DimensionMismatchError,
    DuplicateMemoryError,
    InvalidMemoryError,
    MemoryNotFoundError,
)
from fluent_ai.memory.stores.sqlite_codec import (
    MEMORY_COLUMNS,
    filter_sql,
    memory_from_row,
    memory_params,
    relation_from_row,
    to_json,
    to_micros,
)
from fluent_ai.memory.types import EmbeddingSpace, Memory, MemoryFilter, Relation

__all__ = [
    "add",
    "chunked",
    "delete",
    "get",
    "list_page",
    "neighbours",
    "relate",
    "space",
    "touch",
    "transaction",
    "update",
]

T = TypeVar("T")
_CHUNK = 500
_INSERT = f"INSERT INTO memories ({MEMORY_COLUMNS}, embedding) VALUES ({', '.join('?' * 12)})"
_RELATION_COLUMNS = "source_id, target_id, type, created_at, metadata"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction, taken at once (``IMMEDIATE``) so it never fails half-way on a lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def chunked(
    conn: sqlite3.Connection, sql: str, keys: Sequence[T], fn: Callable[[list[Any]], None]
) -> None:
    """Run ``sql`` (with ``{marks}`` for the placeholders) over ``keys`` in bounded chunks."""
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        fn(conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall())


def space(conn: sqlite3.Connection, namespace: str) -> EmbeddingSpace | None:
    row = conn.execute(
        "SELECT model, dimensions FROM spaces WHERE namespace = ?", (namespace,)
    ).fetchone()
    return None if row is None else EmbeddingSpace(row[0], int(row[1]))


def claim_space(conn: sqlite3.Connection, namespace: str, model: str | None, size: int) -> None:
    """Record the namespace's space on its first vector; refuse a vector that does not fit."""
    known = space(conn, namespace)
    if known is None:
        if model is None:
            raise InvalidMemoryError(
                f"namespace {namespace!r} has no vectors yet: pass model= (the embedder's "
                "model id) with its first vector"
            )
        conn.execute(
            "INSERT INTO spaces (namespace, model, dimensions) VALUES (?, ?, ?)",
            (namespace, model, size),
        )
    elif known.dimensions != size or (model is not None and model != known.model):
        raise DimensionMismatchError(
            namespace,
            expected_model=known.model,
            expected_dimensions=known.dimensions,
            model=model,
            dimensions=size,
        )


def add(conn: sqlite3.Connection, memories: Sequence[Memory], model: str | None) -> None:
    with transaction(conn):
        sizes = {(m.namespace, len(m.embedding)) for m in memories if m.embedding is not None}
        for namespace, size in sorted(sizes):
            claim_space(conn, namespace, model, size)
        try:
            conn.executemany(_INSERT, (memory_params(memory) for memory in memories))
        except sqlite3.IntegrityError as exc:
            if "memories.id" not in str(exc):
                raise
            taken: list[str] = []
            ids = [memory.id for memory in memories]
            chunked(
                conn,
                "SELECT id FROM memories WHERE id IN ({marks})",
                ids,
                lambda rows: taken.extend(r[0] for r in rows),
            )
            raise DuplicateMemoryError(taken) from None


def get(conn: sqlite3.Connection, ids: Sequence[str]) -> list[Memory]:
    found: dict[str, Memory] = {}

    def keep(rows: list[Any]) -> None:
        found.update((row[0], memory_from_row(row)) for row in rows)

    chunked(
        conn, f"SELECT {MEMORY_COLUMNS}, embedding FROM memories WHERE id IN ({{marks}})", ids, keep
    )
    return [found[memory_id] for memory_id in ids if memory_id in found]


def update(conn: sqlite3.Connection, memory: Memory, model: str | None) -> None:
    with transaction(conn):
        row = conn.execute(
            "SELECT namespace, length(embedding) / 4 FROM memories WHERE id = ?", (memory.id,)
        ).fetchone()
        if row is None:
            raise MemoryNotFoundError([memory.id])
        old_namespace, stored_size = row
        if memory.embedding is not None:
            claim_space(conn, memory.namespace, model, len(memory.embedding))
        elif stored_size is not None and old_namespace != memory.namespace:
            old_space = space(conn, old_namespace)
            claim_space(
                conn, memory.namespace, old_space.model if old_space else model, stored_size
            )
        params = memory_params(memory)
        conn.execute(
            "UPDATE memories SET namespace = ?, kind = ?, content = ?, metadata = ?, "
            "importance = ?, created_at = ?, last_accessed_at = ?, access_count = ?, "
            "expires_at = ?, derived_from = ?, embedding = coalesce(?, embedding) WHERE id = ?",
            (*params[1:], memory.id),
        )


def delete(conn: sqlite3.Connection, ids: Sequence[str]) -> int:
    deleted = 0
    with transaction(conn):
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            cursor = conn.execute(
                f"DELETE FROM memories WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            deleted += cursor.rowcount
    return deleted


def touch(conn: sqlite3.Connection, ids: Sequence[str], at: datetime) -> None:
    with transaction(conn):
        for start in range(0, len(ids), _CHUNK):
            chunk = list(dict.fromkeys(ids[start : start + _CHUNK]))
            conn.execute(
                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ? "
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                (to_micros(at), *chunk),
            )


def list_page(
    conn: sqlite3.Connection,
    namespace: str,
    memory_filter: MemoryFilter | None,
    now: datetime,
    limit: int,
    offset: int,
    with_embeddings: bool,
) -> list[Memory]:
    where, params = filter_sql(memory_filter, now)
    columns = MEMORY_COLUMNS + (", embedding" if with_embeddings else "")
    rows = conn.execute(
        f"SELECT {columns} FROM memories WHERE namespace = ? AND {where} "
        "ORDER BY created_at, id LIMIT ? OFFSET ?",
        (namespace, *params, limit, offset),
    ).fetchall()
    return [memory_from_row(row) for row in rows]


def relate(conn: sqlite3.Connection, relation: Relation) -> None:
    with transaction(conn):
        ends = [relation.source_id, relation.target_id]
        present = {r[0] for r in conn.execute("SELECT id FROM memories WHERE id IN (?, ?)", ends)}
        missing = [memory_id for memory_id in ends if memory_id not in present]
        if missing:
            raise MemoryNotFoundError(missing)
        conn.execute(
            f"INSERT OR REPLACE INTO relations ({_RELATION_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            (
                relation.source_id,
                relation.target_id,
                relation.type,
                to_micros(relation.created_at),
                to_json(relation.metadata),
            ),
        )


def neighbours(
    conn: sqlite3.Connection, ids: Sequence[str], types: Sequence[str] | None
) -> list[Relation]:
    found: dict[tuple[str, str, str], Relation] = {}
    type_sql = f" AND type IN ({','.join('?' * len(types))})" if types else ""

    def keep(rows: list[Any]) -> None:
        for row in rows:
            found[(row[0], row[1], row[2])] = relation_from_row(row)

    for column in ("source_id", "target_id"):
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            keep(
                conn.execute(
                    f"SELECT {_RELATION_COLUMNS} FROM relations "
                    f"WHERE {column} IN ({','.join('?' * len(chunk))}){type_sql}",
                    (*chunk, *(types or ())),
                ).fetchall()
            )
    return sorted(found.values(), key=lambda r: (r.created_at, r.source_id, r.target_id, r.type))
