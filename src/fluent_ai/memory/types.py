"""What a memory store holds: memories, relations between them, and filters over them.

These are the records every store (SQLite, PostgreSQL) reads and writes and the memory
manager scores; validation happens here, once, so a store never sees a malformed value:
content is non-empty and bounded, metadata is JSON, times are aware UTC, an embedding is
a finite, non-zero, 1-d float32 vector.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

import numpy as np
import numpy.typing as npt
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_CONTENT_CHARS",
    "MAX_DIMENSIONS",
    "MAX_METADATA_BYTES",
    "EmbeddingSpace",
    "Memory",
    "MemoryFilter",
    "MemoryKind",
    "Relation",
    "ScoredId",
    "StoreStats",
    "Vector",
    "new_memory_id",
    "utc_now",
]

#: Longest content accepted (characters): a memory is a fact or an exchange, not a book.
MAX_CONTENT_CHARS = 100_000
#: Largest metadata accepted, as compact JSON (bytes).
MAX_METADATA_BYTES = 64_000
#: Largest embedding accepted (dimensions).
MAX_DIMENSIONS = 8_192

Vector = npt.NDArray[np.float32]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:@\-]*$"
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=_NAME)]


def utc_now() -> datetime:
    """The current time, aware and in UTC, at microsecond precision (what stores keep)."""
    return datetime.now(UTC)


def new_memory_id() -> str:
    """A 32-hex-digit id that sorts by creation time: 48 bits of milliseconds + 80 random."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _as_vector(value: object) -> Vector:
    if isinstance(value, (str, bytes)):
        raise ValueError("an embedding is a sequence of numbers, not text or bytes")
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"an embedding must be numbers: {exc}") from None
    if array.ndim != 1 or not 1 <= array.shape[0] <= MAX_DIMENSIONS:
        raise ValueError(f"an embedding is one vector of 1..{MAX_DIMENSIONS} numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError("an embedding must not contain NaN or infinity")
    if not np.any(array):
        raise ValueError("an embedding must not be all zeros (its direction is undefined)")
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def _vector_list(value: Vector) -> list[float]:
    return [float(x) for x in value]


EmbeddingVector = Annotated[
    Vector, BeforeValidator(_as_vector), PlainSerializer(_vector_list, return_type=list[float])
]


class MemoryKind(StrEnum):
    """The kinds of long-term memory (after the cognitive-science taxonomy)."""

    SEMANTIC = "semantic"  # facts: "Ann prefers tea"
    EPISODIC = "episodic"  # events: one conversation turn, what happened when
    PROCEDURAL = "procedural"  # how to do things: "deploy with `make release`"
    WORKING = "working"  # short-lived scratch state, usually with an expiry


def _has_nul(value: object) -> bool:
    """Whether any key or string inside ``value`` holds a NUL (PostgreSQL cannot store it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _check_metadata(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if _has_nul(value):
        raise ValueError("metadata must not contain NUL characters (\\x00)")
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    return value


Metadata = Annotated[dict[str, JsonValue], AfterValidator(_check_metadata)]


class Memory(BaseModel):
    """One memory. ``derived_from`` keeps provenance: the ids it was merged or summarised from.

    ``embedding`` is what the embedder returned for ``content`` (kept as given; stores
    normalise their own index copy). It is left out of ``repr`` and compared exactly.
    """

    model_config = ConfigDict(
        arbitrary_types_allowed=True, validate_assignment=True, extra="forbid"
    )

    id: Identifier = Field(default_factory=new_memory_id)
    namespace: Identifier = "default"
    kind: MemoryKind = MemoryKind.SEMANTIC
    content: str = Field(min_length=1)
    metadata: Metadata = Field(default_factory=dict)
    importance: float = Field(0.5, ge=0.0, le=1.0, allow_inf_nan=False)
    created_at: UtcDatetime = Field(default_factory=utc_now)
    last_accessed_at: UtcDatetime = Field(default_factory=utc_now)
    access_count: int = Field(0, ge=0)
    expires_at: UtcDatetime | None = None
    derived_from: list[Identifier] = Field(default_factory=list)
    embedding: EmbeddingVector | None = Field(None, repr=False)

    @field_validator("content")
    @classmethod
    def _content_fits(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; refused everywhere so stores agree.
            raise ValueError("content must not contain NUL characters (\\x00)")
        if len(value) > MAX_CONTENT_CHARS:
            raise ValueError(
                f"content is {len(value)} characters; the limit is {MAX_CONTENT_CHARS} "
                "(split it into several memories)"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _accessed_defaults_to_created(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("last_accessed_at") is None:
            created = data.get("created_at") or utc_now()
            data = {**data, "created_at": created, "last_accessed_at": created}
        return data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Memory):
            return NotImplemented
        mine, theirs = self.embedding, other.embedding
        same_vector = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and np.array_equal(mine, theirs)
        )
        return same_vector and self.model_dump(exclude={"embedding"}) == other.model_dump(
            exclude={"embedding"}
        )

    __hash__ = None  # type: ignore[assignment]


class Relation(BaseModel):
    """A typed, directed edge between two memories (``"ann" --works_at--> "acme"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_id: Identifier
    target_id: Identifier
    type: Annotated[str, Field(min_length=1, max_length=64, pattern=_NAME)]
    created_at: UtcDatetime = Field(default_factory=utc_now)
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_a_loop(self) -> Relation:
        if self.source_id == self.target_id:
            raise ValueError("a memory cannot be related to itself")
        return self


Scalar = str | int | float | bool | None
_KEY = re.compile(r'^[^"\\\x00-\x1f]{1,128}$')


class MemoryFilter(BaseModel):
    """What recall and listing may return, beyond the namespace.

    ``metadata`` keys must all equal their values (top-level keys, JSON scalars);
    ``created_after`` is exclusive, ``created_before`` exclusive; expired memories are
    left out unless ``include_expired``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: frozenset[MemoryKind] | None = None
    metadata: dict[str, Scalar] = Field(default_factory=dict)
    created_after: UtcDatetime | None = None
    created_before: UtcDatetime | None = None
    include_expired: bool = False

    @field_validator("kinds")
    @classmethod
    def _some_kind(cls, value: frozenset[MemoryKind] | None) -> frozenset[MemoryKind] | None:
        if value is not None and not value:
            raise ValueError("kinds must name at least one kind (or be None for all)")
        return value

    @field_validator("metadata")
    @classmethod
    def _plain_keys(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        for key in value:
            if not _KEY.match(key):
                raise ValueError(f"metadata filter key {key!r} must be 1..128 plain characters")
        return value

    def is_selective(self) -> bool:
        """True when it can drop memories other than expired ones."""
        return bool(self.kinds or self.metadata or self.created_after or self.created_before)

    def matches(self, memory: Memory, now: datetime) -> bool:
        """The same test a store applies, in Python (for callers holding memories)."""
        if self.kinds is not None and memory.kind not in self.kinds:
            return False
        if any(
            k not in memory.metadata or not _same(memory.metadata[k], v)
            for k, v in self.metadata.items()
        ):
            return False
        if self.created_after is not None and memory.created_at <= self.created_after:
            return False
        if self.created_before is not None and memory.created_at >= self.created_before:
            return False
        return self.include_expired or memory.expires_at is None or memory.expires_at > now


def _same(stored: Any, wanted: Scalar) -> bool:
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return type(stored) is type(wanted) and stored == wanted
    return bool(stored == wanted)


class ScoredId(NamedTuple):
    """A search hit: the memory id and its score (cosine similarity, or BM25 relevance)."""

    id: str
    score: float


class EmbeddingSpace(NamedTuple):
    """The embedder model and dimension a namespace's vectors come from."""

    model: str
    dimensions: int


class StoreStats(BaseModel):
    """Counts for ``stats()``: per namespace and kind, relations, cache, bytes on disk."""

    model_config = ConfigDict(frozen=True)

    memories: int
    by_namespace: dict[str, int]
    by_kind: dict[MemoryKind, int]
    with_embedding: int
    expired: int
    relations: int
    cached_embeddings: int
    spaces: dict[str, EmbeddingSpace]
    size_bytes: int
