"""Blocking twins of the memory manager's methods, for scripts without an event loop.

Each runs the async method on the shared background loop (:mod:`fluent_ai._sync`) and
refuses to run inside a loop, where the async method is the right call.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fluent_ai._sync import run_sync

if TYPE_CHECKING:
    from fluent_ai.memory.manager import MemoryManager
    from fluent_ai.memory.results import (
        CompactionReport,
        ConsolidationReport,
        RecallHit,
        RelatedMemory,
    )
    from fluent_ai.memory.types import Memory, Relation, StoreStats

__all__ = ["SyncTwins"]


def _manager(twins: SyncTwins) -> MemoryManager:
    return cast("MemoryManager", twins)


class SyncTwins:
    """Mixed into :class:`MemoryManager`: ``remember_sync``, ``recall_sync`` …"""

    def remember_sync(self, content: str, **options: Any) -> Memory:
        return run_sync(_manager(self).remember(content, **options), alternative="await remember()")

    def recall_sync(self, query: str, k: int = 5, **options: Any) -> builtins.list[RecallHit]:
        return run_sync(_manager(self).recall(query, k, **options), alternative="await recall()")

    def remember_many_sync(self, items: Sequence[Memory | str]) -> builtins.list[Memory]:
        return run_sync(_manager(self).remember_many(items), alternative="await remember_many()")

    def get_sync(self, memory_id: str) -> Memory:
        return run_sync(_manager(self).get(memory_id), alternative="await get()")

    def update_sync(self, memory_id: str, **changes: Any) -> Memory:
        return run_sync(_manager(self).update(memory_id, **changes), alternative="await update()")

    def forget_sync(self, ids: str | Sequence[str]) -> int:
        return run_sync(_manager(self).forget(ids), alternative="await forget()")

    def list_sync(self, **options: Any) -> builtins.list[Memory]:
        return run_sync(_manager(self).list(**options), alternative="await list()")

    def relate_sync(self, source_id: str, target_id: str, type: str) -> Relation:
        return run_sync(
            _manager(self).relate(source_id, target_id, type), alternative="await relate()"
        )

    def related_sync(self, memory_id: str, hops: int = 1) -> builtins.list[RelatedMemory]:
        return run_sync(_manager(self).related(memory_id, hops), alternative="await related()")

    def consolidate_sync(self, **options: Any) -> ConsolidationReport:
        return run_sync(_manager(self).consolidate(**options), alternative="await consolidate()")

    def compact_sync(self) -> CompactionReport:
        return run_sync(_manager(self).compact(), alternative="await compact()")

    def export_sync(self, path: str | Path) -> int:
        return run_sync(_manager(self).export(path), alternative="await export()")

    def import_sync(self, path: str | Path) -> int:
        return run_sync(_manager(self).import_(path), alternative="await import_()")

    def stats_sync(self) -> StoreStats:
        return run_sync(_manager(self).stats(), alternative="await stats()")

    def close_sync(self) -> None:
        run_sync(_manager(self).aclose(), alternative="await aclose()")
