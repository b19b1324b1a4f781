"""Walking relations: breadth first, either direction, nearest memories first."""

from __future__ import annotations

from collections.abc import Sequence

from fluent_ai.memory.results import RelatedMemory
from fluent_ai.memory.store import MemoryStore
from fluent_ai.memory.types import Relation

__all__ = ["walk"]


async def walk(
    store: MemoryStore, start: str, hops: int, types: Sequence[str] | None = None
) -> list[RelatedMemory]:
    """Memories within ``hops`` relations of ``start``, each with its distance and the
    relation it was reached by (one store query per hop)."""
    seen = {start}
    frontier = [start]
    reached: list[tuple[str, int, Relation]] = []
    for distance in range(1, hops + 1):
        step: list[str] = []
        for relation in await store.neighbours(frontier, types):
            for other in (relation.source_id, relation.target_id):
                if other not in seen:
                    seen.add(other)
                    step.append(other)
                    reached.append((other, distance, relation))
        if not step:
            break
        frontier = step
    found = {m.id: m for m in await store.get([memory_id for memory_id, _, _ in reached])}
    return [
        RelatedMemory(found[other], distance, via)
        for other, distance, via in reached
        if other in found
    ]
