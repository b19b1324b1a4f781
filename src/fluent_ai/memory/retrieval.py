"""One recall: embed the query, ask both retrievers, fuse, weigh, count the accesses."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fluent_ai.memory.results import RecallHit
from fluent_ai.memory.scoring import fuse, score
from fluent_ai.memory.types import MemoryFilter, utc_now

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager

__all__ = ["retrieve"]

#: How many candidates each retriever offers per wanted result before fusion.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 20


async def retrieve(
    manager: MemoryManager,
    query: str,
    k: int,
    selection: MemoryFilter,
    *,
    min_score: float,
    explain: bool,
) -> list[RecallHit]:
    """The best ``k`` hits for ``query`` (arguments already checked by the manager)."""
    wanted = max(MIN_CANDIDATES, k * CANDIDATES_PER_RESULT)
    [vector] = await manager.embedder.embed([query])
    vector_hits, text_hits = await asyncio.gather(
        manager.store.vector_search(manager.namespace, vector, wanted, selection),
        manager.store.text_search(manager.namespace, query, wanted, selection),
    )
    fused = fuse(vector_hits, text_hits, rrf_k=manager.weights.rrf_k)
    memories = await manager.store.get(list(fused))
    now = utc_now()
    weights = manager.weights
    scored = [(m, score(m, fused[m.id], now=now, weights=weights)) for m in memories]
    scored.sort(key=lambda pair: pair[1].score, reverse=True)
    hits = [
        RecallHit(memory, parts.score, parts if explain else None)
        for memory, parts in scored
        if parts.score >= min_score
    ][:k]
    if hits:
        await manager.store.touch([hit.memory.id for hit in hits], now)
    return hits
