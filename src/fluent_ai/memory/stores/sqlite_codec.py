"""Translations between memory records and SQLite rows, filters and FTS5 queries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fluent_ai.memory.types import Memory, MemoryFilter, MemoryKind, Relation, Vector

__all__ = [
    "MEMORY_COLUMNS",
    "filter_sql",
    "from_micros",
    "fts_query",
    "memory_from_row",
    "memory_params",
    "relation_from_row",
    "to_json",
    "to_micros",
    "vector_from_blob",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MEMORY_COLUMNS = (
    "id, namespace, kind, content, metadata, importance, created_at, last_accessed_at, "
    "access_count, expires_at, derived_from"
)
#: Most words of a text query that reach FTS5 (the rest add little and cost a lot).
MAX_QUERY_TERMS = 64
_WORD = re.compile(r"\w+", re.UNICODE)


def to_micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def vector_from_blob(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype=np.float32)


def to_json(value: Any) -> str:
    """Compact JSON, as stored."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def memory_params(memory: Memory) -> tuple[Any, ...]:
    """The row values in :data:`MEMORY_COLUMNS` order, then the embedding blob (or None)."""
    vector = memory.embedding
    return (
        memory.id,
        memory.namespace,
        memory.kind.value,
        memory.content,
        to_json(memory.metadata),
        memory.importance,
        to_micros(memory.created_at),
        to_micros(memory.last_accessed_at),
        memory.access_count,
        None if memory.expires_at is None else to_micros(memory.expires_at),
        to_json(memory.derived_from),
        None if vector is None else vector.tobytes(),
    )


def memory_from_row(row: tuple[Any, ...]) -> Memory:
    """A memory from :data:`MEMORY_COLUMNS` (+ the embedding blob when selected)."""
    embedding = vector_from_blob(row[11]) if len(row) > 11 and row[11] is not None else None
    return Memory.model_construct(
        id=row[0],
        namespace=row[1],
        kind=MemoryKind(row[2]),
        content=row[3],
        metadata=json.loads(row[4]),
        importance=row[5],
        created_at=from_micros(row[6]),
        last_accessed_at=from_micros(row[7]),
        access_count=row[8],
        expires_at=None if row[9] is None else from_micros(row[9]),
        derived_from=json.loads(row[10]),
        embedding=embedding,
    )


def relation_from_row(row: tuple[Any, ...]) -> Relation:
    return Relation.model_construct(
        source_id=row[0],
        target_id=row[1],
        type=row[2],
        created_at=from_micros(row[3]),
        metadata=json.loads(row[4]),
    )


def filter_sql(
    memory_filter: MemoryFilter | None, now: datetime, alias: str = ""
) -> tuple[str, list[Any]]:
    """``AND``-joined conditions (never empty: ``1`` when nothing filters) and their values."""
    column = f"{alias}." if alias else ""
    spec = memory_filter or MemoryFilter()
    clauses: list[str] = []
    params: list[Any] = []
    if spec.kinds is not None:
        kinds = sorted(kind.value for kind in spec.kinds)
        clauses.append(f"{column}kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    for key, value in spec.metadata.items():
        path = f'$."{key}"'
        if value is None:
            clauses.append(f"json_type({column}metadata, ?) = 'null'")
            params.append(path)
        elif isinstance(value, bool):
            clauses.append(f"json_type({column}metadata, ?) = ?")
            params.extend((path, "true" if value else "false"))
        else:
            types = "'text'" if isinstance(value, str) else "'integer', 'real'"
            clauses.append(
                f"(json_type({column}metadata, ?) IN ({types}) "
                f"AND json_extract({column}metadata, ?) = ?)"
            )
            params.extend((path, path, value))
    if spec.created_after is not None:
        clauses.append(f"{column}created_at > ?")
        params.append(to_micros(spec.created_after))
    if spec.created_before is not None:
        clauses.append(f"{column}created_at < ?")
        params.append(to_micros(spec.created_before))
    if not spec.include_expired:
        clauses.append(f"({column}expires_at IS NULL OR {column}expires_at > ?)")
        params.append(to_micros(now))
    return (" AND ".join(clauses) or "1"), params


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: each word quoted, any of them may match.

    Quoting makes every character literal, so operators (``AND``, ``NEAR``, ``*``,
    ``-``, ``:``, unbalanced quotes) in user text are plain words and never a syntax
    error. ``None`` when the text has no words at all.
    """
    terms = list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms[:MAX_QUERY_TERMS])
