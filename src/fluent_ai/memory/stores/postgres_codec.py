"""Translations between memory records and PostgreSQL rows and filters.

Values travel in binary: vectors through pgvector's psycopg adapter (numpy in, 4-byte
floats on the wire, no per-number text formatting or parsing), times as ``timestamptz``
(microseconds, exact), metadata as ``jsonb``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from pgvector import Vector as PgVector
from psycopg import sql
from psycopg.types.json import Jsonb

from fluent_ai.memory.types import Memory, MemoryFilter, MemoryKind, Relation, Vector

__all__ = [
    "COPY_TYPES",
    "MEMORY_COLUMNS",
    "RELATION_COLUMNS",
    "as_vector",
    "filter_sql",
    "memory_from_row",
    "memory_row",
    "relation_from_row",
]

#: The stored columns of a memory, in row order (``embedding`` last, selected on demand).
MEMORY_COLUMNS = (
    "id, namespace, kind, content, metadata, importance, created_at, last_accessed_at, "
    "access_count, expires_at, derived_from"
)
#: PostgreSQL types of :data:`MEMORY_COLUMNS` + ``embedding``, for binary ``COPY``.
COPY_TYPES = (
    "text",
    "text",
    "text",
    "text",
    "jsonb",
    "float8",
    "timestamptz",
    "timestamptz",
    "int8",
    "timestamptz",
    "text[]",
    "vector",
)
RELATION_COLUMNS = "source_id, target_id, type, created_at, metadata"


def as_vector(value: Any) -> Vector:
    """A loaded ``vector`` value as the float32 numpy array memories carry."""
    array = value.to_numpy() if isinstance(value, PgVector) else np.asarray(value, np.float32)
    vector: Vector = array.astype(np.float32, copy=True)
    return vector


def memory_row(memory: Memory) -> tuple[Any, ...]:
    """The row values in :data:`MEMORY_COLUMNS` order, then the embedding (or None)."""
    return (
        memory.id,
        memory.namespace,
        memory.kind.value,
        memory.content,
        Jsonb(memory.metadata),
        memory.importance,
        memory.created_at,
        memory.last_accessed_at,
        memory.access_count,
        memory.expires_at,
        list(memory.derived_from),
        memory.embedding,
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def memory_from_row(row: tuple[Any, ...]) -> Memory:
    """A memory from :data:`MEMORY_COLUMNS` (+ the embedding when selected)."""
    embedding = as_vector(row[11]) if len(row) > 11 and row[11] is not None else None
    return Memory.model_construct(
        id=row[0],
        namespace=row[1],
        kind=MemoryKind(row[2]),
        content=row[3],
        metadata=row[4],
        importance=float(row[5]),
        created_at=_utc(row[6]),
        last_accessed_at=_utc(row[7]),
        access_count=int(row[8]),
        expires_at=None if row[9] is None else _utc(row[9]),
        derived_from=list(row[10]),
        embedding=embedding,
    )


def relation_from_row(row: tuple[Any, ...]) -> Relation:
    return Relation.model_construct(
        source_id=row[0],
        target_id=row[1],
        type=row[2],
        created_at=_utc(row[3]),
        metadata=row[4],
    )


def filter_sql(
    memory_filter: MemoryFilter | None, now: datetime, alias: str = ""
) -> tuple[sql.Composable, list[Any]]:
    """``AND``-joined conditions (``TRUE`` when nothing filters) and their values, in order.

    A metadata condition compares the ``jsonb`` value with ``=``, which is typed like
    :meth:`MemoryFilter.matches`: ``1`` equals ``1.0``, but not ``true`` or ``"1"``; a
    missing key never matches; ``None`` matches a stored JSON ``null``.
    """
    spec = memory_filter or MemoryFilter()
    prefix = sql.SQL(f"{alias}.") if alias else sql.SQL("")

    def col(name: str) -> sql.Composable:
        return prefix + sql.Identifier(name)

    clauses: list[sql.Composable] = []
    params: list[Any] = []
    if spec.kinds is not None:
        clauses.append(col("kind") + sql.SQL(" = ANY(%s)"))
        params.append(sorted(kind.value for kind in spec.kinds))
    for key, value in spec.metadata.items():
        clauses.append(col("metadata") + sql.SQL(" -> %s = %s"))
        params.extend((key, Jsonb(value)))
    if spec.created_after is not None:
        clauses.append(col("created_at") + sql.SQL(" > %s"))
        params.append(spec.created_after)
    if spec.created_before is not None:
        clauses.append(col("created_at") + sql.SQL(" < %s"))
        params.append(spec.created_before)
    if not spec.include_expired:
        expires = col("expires_at")
        clauses.append(sql.SQL("({e} IS NULL OR {e} > %s)").format(e=expires))
        params.append(now)
    if not clauses:
        return sql.SQL("TRUE"), params
    return sql.SQL(" AND ").join(clauses), params
