"""What the memory manager hands back: recall hits, walks over relations, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluent_ai.memory.scoring import ScoreParts
from fluent_ai.memory.types import Memory, Relation

__all__ = ["CompactionReport", "ConsolidationReport", "RecallHit", "RelatedMemory"]


@dataclass(frozen=True, slots=True)
class RecallHit:
    """One recalled memory, its final score, and (``explain=True``) how it was reached."""

    memory: Memory
    score: float
    parts: ScoreParts | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able view (no embedding), as ``fluent-ai memory recall --json`` prints it."""
        data: dict[str, Any] = {
            "id": self.memory.id,
            "kind": self.memory.kind.value,
            "content": self.memory.content,
            "importance": self.memory.importance,
            "metadata": self.memory.metadata,
            "created_at": self.memory.created_at.isoformat(),
            "score": self.score,
        }
        if self.parts is not None:
            data["explain"] = self.parts.as_dict()
        return data


@dataclass(frozen=True, slots=True)
class RelatedMemory:
    """A memory reached from the start of a walk, ``hops`` relations away, and how."""

    memory: Memory
    hops: int
    via: Relation


@dataclass(slots=True)
class ConsolidationReport:
    """What ``consolidate()`` did: which duplicates went into which survivor, what was
    summarised into what."""

    merged: dict[str, list[str]] = field(default_factory=dict)  # survivor id -> removed ids
    summaries: dict[str, list[str]] = field(default_factory=dict)  # new id -> episode ids

    @property
    def removed(self) -> int:
        return sum(len(ids) for ids in self.merged.values())


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What ``compact()`` did: expired working memories deleted, space reclaimed."""

    expired_deleted: int
    bytes_before: int
    bytes_after: int
