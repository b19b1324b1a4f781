"""Request and response bodies of the memory endpoints (they make the OpenAPI document).

Requests are checked here as far as a schema can say it (lengths, ranges, kinds, text
that every store can keep), so a bad field is a 400 that names it; the memory manager
checks again before anything is stored.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StrictBool,
    field_validator,
)

from fluent_ai.memory.results import RecallHit
from fluent_ai.memory.types import MAX_CONTENT_CHARS, MAX_METADATA_BYTES, Memory, MemoryKind
from fluent_ai.server.rest_types import (
    NO_NUL,
    IsoDatetime,
    JsonInt,
    JsonObject,
    check_text,
    not_blank_pattern,
)

__all__ = [
    "MemoryCreate",
    "MemoryDeleted",
    "MemoryHit",
    "MemoryList",
    "MemoryOut",
    "MemoryPatch",
    "MemorySearch",
    "MemorySearchResult",
]

#: The longest text query a store searches (``fluent_ai.memory.validation.check_text``).
MAX_QUERY_CHARS = 10_000
#: Longest lifetime ``expires_in`` accepts: 100 years, in seconds.
MAX_EXPIRES_IN = 100 * 365 * 86_400
_INT64 = 2**63
_FILTER_KEY = re.compile(r'[^"\\\x00-\x1f]{1,128}')


def _content(value: str) -> str:
    check_text(value)
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _filters(value: dict[str, Any]) -> dict[str, Any]:
    """Keys a store can put in a JSON path; integers past 64 bits compared as floats
    (SQLite cannot bind them)."""
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if not _FILTER_KEY.fullmatch(key):
            raise ValueError(f"key {key[:40]!r} must be 1..128 characters without quotes or \\")
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not -_INT64 <= item < _INT64:
            item = float(item)
        checked[key] = item
    return checked


_FILTERS_SCHEMA: dict[str, Any] = {
    "propertyNames": {"pattern": f"^{_FILTER_KEY.pattern}$"},
    "additionalProperties": {
        "anyOf": [
            {"type": "string", "pattern": NO_NUL},
            {"type": "number"},
            {"type": "boolean"},
            {"type": "null"},
        ]
    },
}


Content = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CONTENT_CHARS, json_schema_extra=not_blank_pattern()),
    AfterValidator(_content),
]


def _metadata_fits(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}")
    return value


Metadata = Annotated[
    JsonObject,
    AfterValidator(_metadata_fits),
    Field(description="Free JSON; at most 64 kB. Replaced whole by PATCH."),
]
# Strict: a JSON number only, never "0.5" or true (JSON Schema says number).
Importance = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document an optional PATCH field without ``null``: leaving it out keeps the value,
    and ``null`` is refused (``MemoryPatch._not_null``)."""
    schema.pop("default", None)
    options = schema.pop("anyOf", [])
    kept = [option for option in options if option.get("type") != "null"]
    if len(kept) == 1:
        schema.update(kept[0])
    elif kept:
        schema["anyOf"] = kept


class MemoryCreate(BaseModel):
    """A memory to remember in the caller's namespace (``expires_at`` or ``expires_in``)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"not": {"required": ["expires_at", "expires_in"]}}
    )

    content: Content
    kind: MemoryKind = MemoryKind.SEMANTIC
    importance: Importance = 0.5
    metadata: Metadata = Field(default_factory=dict)
    expires_at: IsoDatetime | None = Field(None, description="When it is forgotten.")
    expires_in: Annotated[float, Strict()] | None = Field(
        None, gt=0, le=MAX_EXPIRES_IN, description="Seconds until it is forgotten."
    )


class MemoryPatch(BaseModel):
    """Fields to change; fields left out stay. New content is embedded again."""

    model_config = ConfigDict(extra="forbid")

    content: Content | None = Field(None, json_schema_extra=_not_nullable)
    kind: MemoryKind | None = Field(None, json_schema_extra=_not_nullable)
    importance: Importance | None = Field(None, json_schema_extra=_not_nullable)
    metadata: Metadata | None = Field(None, json_schema_extra=_not_nullable)
    expires_at: IsoDatetime | None = Field(None, description="null: never expires.")

    @field_validator("content", "kind", "importance", "metadata")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as ``MemoryManager.update`` keywords."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class MemorySearch(BaseModel):
    """A recall: the ``k`` memories that best answer ``query``."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[
        str,
        Field(min_length=1, max_length=MAX_QUERY_CHARS, json_schema_extra=not_blank_pattern()),
        AfterValidator(_content),
    ]
    k: JsonInt = Field(5, ge=1, le=100)
    kinds: list[MemoryKind] | None = Field(None, min_length=1)
    filters: Annotated[
        dict[str, str | int | float | bool | None],
        AfterValidator(_filters),
        Field(
            description="Metadata keys that must equal these values.",
            json_schema_extra=_FILTERS_SCHEMA,
        ),
    ] = Field(default_factory=dict)
    min_score: Annotated[float, Strict()] = Field(0.0, ge=0.0, le=1.0)
    explain: StrictBool = Field(False, description="Add each hit's score parts.")


class MemoryOut(BaseModel):
    """A stored memory (its vector is not shown)."""

    id: str
    object: Literal["memory"] = "memory"
    namespace: str
    kind: MemoryKind
    content: str
    importance: float
    metadata: dict[str, JsonValue]
    created_at: datetime
    last_accessed_at: datetime
    access_count: int
    expires_at: datetime | None
    derived_from: list[str]

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls.model_validate(memory.model_dump(exclude={"embedding"}))


class MemoryList(BaseModel):
    """A page of memories, oldest first."""

    object: Literal["list"] = "list"
    data: list[MemoryOut]
    total: int = Field(description="Memories of the namespace that pass the filter.")
    limit: int
    offset: int
    has_more: bool


class MemoryHit(BaseModel):
    """A recalled memory and its score (relevance × importance × recency, 0..1)."""

    memory: MemoryOut
    score: float
    explain: dict[str, Any] | None = None

    @classmethod
    def of(cls, hit: RecallHit) -> MemoryHit:
        parts = hit.parts.as_dict() if hit.parts is not None else None
        return cls(memory=MemoryOut.of(hit.memory), score=hit.score, explain=parts)


class MemorySearchResult(BaseModel):
    """Recall hits, best first."""

    object: Literal["list"] = "list"
    namespace: str
    data: list[MemoryHit]


class MemoryDeleted(BaseModel):
    """What ``DELETE /v1/memories/{id}`` removed."""

    id: str
    object: Literal["memory.deleted"] = "memory.deleted"
    deleted: bool = True
