"""Argument checks every store applies before touching its database.

Shared so that SQLite and PostgreSQL refuse the same bad input with the same
:class:`InvalidMemoryError` messages (the contract suite tests them on both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from fluent_ai.memory.errors import DuplicateMemoryError, InvalidMemoryError
from fluent_ai.memory.types import (
    MAX_DIMENSIONS,
    Memory,
    MemoryFilter,
    Relation,
    Vector,
    utc_now,
)

__all__ = [
    "MAX_BATCH",
    "MAX_K",
    "check_cache_items",
    "check_cache_keys",
    "check_filter",
    "check_ids",
    "check_instant",
    "check_k",
    "check_memories",
    "check_model",
    "check_namespace",
    "check_page",
    "check_query_vector",
    "check_relation",
    "check_text",
]

#: Most hits one search returns.
MAX_K = 10_000
#: Most records in one call (a bigger import is several batches).
MAX_BATCH = 100_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}$")


def check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not _NAME.match(namespace):
        raise InvalidMemoryError(
            f"namespace must be 1..128 letters, digits or _.:@- (starting with a letter or "
            f"digit); got {namespace!r:.80}"
        )
    return namespace


def check_model(model: object, *, required: bool) -> str | None:
    if model is None and not required:
        return None
    if not isinstance(model, str) or not model.strip() or len(model) > 256:
        raise InvalidMemoryError(
            "model must be the embedder's model id (a non-empty string of at most 256 "
            f"characters); got {model!r:.80}"
        )
    return model


def _sequence(value: object, what: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidMemoryError(f"{what} must be a list, not {type(value).__name__}")
    if len(value) > MAX_BATCH:
        raise InvalidMemoryError(f"{what}: {len(value)} items; at most {MAX_BATCH} per call")
    return value


def check_memories(memories: object, model: object) -> tuple[list[Memory], str | None]:
    """The batch as a list; duplicate ids inside it are refused before any write."""
    batch = list(_sequence(memories, "memories"))
    for item in batch:
        if not isinstance(item, Memory):
            raise InvalidMemoryError(f"memories must be Memory objects, not {type(item).__name__}")
    seen: set[str] = set()
    repeated: list[str] = []
    for memory in batch:
        if memory.id in seen:
            repeated.append(memory.id)
        seen.add(memory.id)
    if repeated:
        raise DuplicateMemoryError(repeated)
    needs_model = any(m.embedding is not None for m in batch)
    return batch, check_model(model, required=needs_model)


def check_ids(ids: object, what: str = "ids") -> list[str]:
    values = list(_sequence(ids, what))
    for value in values:
        if not isinstance(value, str) or not value or len(value) > 128:
            raise InvalidMemoryError(f"{what} must be non-empty strings; got {value!r:.80}")
    return values


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidMemoryError(f"k must be an integer from 1 to {MAX_K}; got {k!r:.40}")
    return k


def check_page(limit: object, offset: object) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        raise InvalidMemoryError(f"limit must be an integer from 1 to {MAX_BATCH}; got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidMemoryError(f"offset must be an integer >= 0; got {offset!r}")
    return limit, offset


def check_filter(memory_filter: object) -> MemoryFilter | None:
    if memory_filter is not None and not isinstance(memory_filter, MemoryFilter):
        raise InvalidMemoryError(
            f"filter must be a MemoryFilter or None, not {type(memory_filter).__name__}"
        )
    return memory_filter


def check_query_vector(vector: object) -> Vector:
    if isinstance(vector, (str, bytes)):
        raise InvalidMemoryError("the query vector must be numbers, not text")
    try:
        array = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidMemoryError("the query vector must be a sequence of numbers") from None
    if array.ndim != 1 or not 1 <= len(array) <= MAX_DIMENSIONS:
        raise InvalidMemoryError(
            f"the query vector must be one vector of 1..{MAX_DIMENSIONS} numbers"
        )
    if not np.all(np.isfinite(array)) or not np.any(array):
        raise InvalidMemoryError("the query vector must be finite and not all zeros")
    return array


def check_text(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidMemoryError(f"the text query must be a string, not {type(query).__name__}")
    if len(query) > 10_000:
        raise InvalidMemoryError(f"the text query is {len(query)} characters; at most 10000")
    return query


def check_relation(relation: object) -> Relation:
    if not isinstance(relation, Relation):
        raise InvalidMemoryError(f"relation must be a Relation, not {type(relation).__name__}")
    return relation


def check_instant(at: object) -> datetime:
    """``at`` (default: now) as an aware datetime."""
    if at is None:
        return utc_now()
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidMemoryError(f"times must be timezone-aware datetimes; got {at!r:.60}")
    return at


def check_cache_keys(keys: object) -> list[str]:
    return check_ids(keys, "cache keys")


def check_cache_items(items: object) -> dict[str, Vector]:
    if not isinstance(items, Mapping):
        raise InvalidMemoryError(f"items must be a mapping, not {type(items).__name__}")
    check_cache_keys(list(items))
    return {key: check_query_vector(vector) for key, vector in items.items()}
