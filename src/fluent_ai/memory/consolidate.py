"""Consolidation: near-duplicates merged, old episodes summarised into facts.

Merging keeps what made each copy worth keeping: the survivor is the more important one
(the older on a tie), takes the higher importance, the summed access count, the latest
access, both metadata (the survivor's keys win), the relations of the others, and lists
the merged ids in ``derived_from``. Only memories of the same kind are merged: a fact
and the episode it came from are not duplicates.

Summarising never deletes an episode: each one is marked with the id of its summary
(``metadata["summarised_into"]``) and its importance halved, so recall prefers the
durable fact while the event itself stays available.

Each merge is its own few store calls, not one transaction across the whole run; a run
cut short leaves every memory intact (at worst a duplicate not yet merged), and running
again finishes the job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.results import ConsolidationReport
from fluent_ai.memory.types import Memory, MemoryFilter, MemoryKind, Relation, utc_now

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager

__all__ = ["consolidate"]

_PAGE = 500
_NEIGHBOURS = 8
_EPISODES_PER_SUMMARY = 20
SUMMARY_PROMPT = (
    "You condense a log of past events into lasting facts. Write the facts worth "
    "remembering as short standalone sentences, one per line. No preamble."
)


async def consolidate(
    manager: MemoryManager,
    *,
    threshold: float,
    summarise_older_than: timedelta | None,
    summariser: Any,
) -> ConsolidationReport:
    """Run both passes (see the module docstring) and say what changed."""
    if not 0.5 <= threshold <= 1.0:
        raise InvalidParameterError("threshold", f"must be within 0.5..1, got {threshold!r}")
    if summariser is None and summarise_older_than is not None:
        raise InvalidParameterError(
            "summariser", "summarising old episodes needs a model: give summariser='...'"
        )
    report = ConsolidationReport()
    await manager.open()
    await _merge_duplicates(manager, threshold, report)
    if summariser is not None:
        age = summarise_older_than if summarise_older_than is not None else timedelta(days=7)
        await _summarise_episodes(manager, age, summariser, report)
    return report


async def _all_ids(manager: MemoryManager, selection: MemoryFilter | None = None) -> list[str]:
    """Every id first, so merging (which deletes) cannot shift the pages being read."""
    ids: list[str] = []
    while True:
        page = await manager.store.list(manager.namespace, selection, limit=_PAGE, offset=len(ids))
        ids.extend(m.id for m in page)
        if len(page) < _PAGE:
            return ids


async def _merge_duplicates(
    manager: MemoryManager, threshold: float, report: ConsolidationReport
) -> None:
    store = manager.store
    removed: set[str] = set()
    ids = await _all_ids(manager)
    for start in range(0, len(ids), _PAGE):
        batch = [i for i in ids[start : start + _PAGE] if i not in removed]
        for memory in await store.get(batch):
            if memory.id in removed or memory.embedding is None:
                continue
            selection = MemoryFilter(kinds=frozenset({memory.kind}))
            hits = await store.vector_search(
                manager.namespace, memory.embedding, _NEIGHBOURS, selection
            )
            twins = [
                h.id
                for h in hits
                if h.score >= threshold and h.id != memory.id and h.id not in removed
            ]
            if not twins:
                continue
            group = [memory, *await store.get(twins)]
            survivor, others = _pick(group)
            await _merge(manager, survivor, others)
            gone = [m.id for m in others]
            removed.update(gone)
            report.merged.setdefault(survivor.id, []).extend(gone)


def _pick(group: list[Memory]) -> tuple[Memory, list[Memory]]:
    ranked = sorted(group, key=lambda m: (-m.importance, m.created_at, m.id))
    return ranked[0], ranked[1:]


async def _merge(manager: MemoryManager, survivor: Memory, others: list[Memory]) -> None:
    store = manager.store
    metadata: dict[str, Any] = {}
    for other in reversed(others):
        metadata.update(other.metadata)
    metadata.update(survivor.metadata)
    provenance = list(survivor.derived_from)
    for other in others:
        for memory_id in (other.id, *other.derived_from):
            if memory_id not in provenance:
                provenance.append(memory_id)
    expiries = [m.expires_at for m in (survivor, *others)]
    merged = survivor.model_copy(
        update={
            "importance": max(m.importance for m in (survivor, *others)),
            "access_count": sum(m.access_count for m in (survivor, *others)),
            "last_accessed_at": max(m.last_accessed_at for m in (survivor, *others)),
            "metadata": metadata,
            "derived_from": provenance,
            "expires_at": None if None in expiries else max(e for e in expiries if e),
            "embedding": None,  # keep the stored vector
        }
    )
    await store.update(Memory.model_validate(merged.model_dump()), model=None)
    moved: list[Relation] = []
    for other in others:
        for relation in await store.relations(other.id):
            source = survivor.id if relation.source_id == other.id else relation.source_id
            target = survivor.id if relation.target_id == other.id else relation.target_id
            if source != target and {source, target} & {m.id for m in others} == set():
                moved.append(relation.model_copy(update={"source_id": source, "target_id": target}))
    for relation in moved:
        await store.relate(relation)
    await store.delete([m.id for m in others])


async def _summarise_episodes(
    manager: MemoryManager, age: timedelta, summariser: Any, report: ConsolidationReport
) -> None:
    cutoff = utc_now() - age
    selection = MemoryFilter(kinds=frozenset({MemoryKind.EPISODIC}), created_before=cutoff)
    ids = await _all_ids(manager, selection)
    episodes = [m for m in await manager.store.get(ids) if "summarised_into" not in m.metadata]
    agent = _summary_agent(summariser)
    for start in range(0, len(episodes), _EPISODES_PER_SUMMARY):
        chunk = episodes[start : start + _EPISODES_PER_SUMMARY]
        log = "\n".join(f"[{m.created_at:%Y-%m-%d %H:%M}] {m.content}" for m in chunk)
        summary = (await agent.conversation().chat(log).text()).strip()
        if not summary:
            continue
        [fact] = await manager.remember_many(
            [
                Memory(
                    namespace=manager.namespace,
                    kind=MemoryKind.SEMANTIC,
                    content=summary,
                    importance=max(m.importance for m in chunk),
                    metadata={"summary_of": len(chunk)},
                    derived_from=[m.id for m in chunk],
                )
            ]
        )
        for episode in chunk:
            marked = episode.model_copy(
                update={
                    "metadata": {**episode.metadata, "summarised_into": fact.id},
                    "importance": episode.importance / 2,
                    "embedding": None,
                }
            )
            await manager.store.update(marked)
        report.summaries[fact.id] = [m.id for m in chunk]


def _summary_agent(summariser: Any) -> Any:
    from fluent_ai.agent.agent import Agent
    from fluent_ai.facade import FluentAI

    if isinstance(summariser, Agent):
        return summariser
    if not isinstance(summariser, str) or not summariser.strip():
        raise InvalidParameterError(
            "summariser", f"must be a model spec or an Agent, got {summariser!r:.60}"
        )
    return (
        FluentAI.agent("memory-summariser")
        .model(summariser)
        .system_prompt(SUMMARY_PROMPT)
        .temperature(0)
        .build()
    )
