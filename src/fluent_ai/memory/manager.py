"""``MemoryManager``: long-term memory for one namespace, on any store and any embedder.

The manager is where meaning lives; stores only keep records. It embeds (through a
cache that remembers vectors in the store itself), recalls with both retrievers fused
and weighted (:mod:`fluent_ai.memory.scoring`), walks relations, and delegates the
batch jobs to their own modules (:mod:`.consolidate`, :mod:`.transfer`).

Every method is async; ``*_sync`` twins run them on the shared background loop for
scripts (see :mod:`fluent_ai._sync`).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import JsonValue, TypeAdapter, ValidationError

from fluent_ai._validation import problems
from fluent_ai.embeddings import CachedEmbedder, Embedder, EmbeddingCache
from fluent_ai.embeddings import embedder as make_embedder
from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.errors import MemoryNotFoundError
from fluent_ai.memory.manager_sync import SyncTwins
from fluent_ai.memory.results import (
    CompactionReport,
    ConsolidationReport,
    RecallHit,
    RelatedMemory,
)
from fluent_ai.memory.scoring import RecallWeights
from fluent_ai.memory.store import MemoryStore
from fluent_ai.memory.types import (
    Identifier,
    Memory,
    MemoryFilter,
    MemoryKind,
    Relation,
    StoreStats,
    utc_now,
)

__all__ = ["MemoryManager"]


class MemoryManager(SyncTwins):
    """Remember, recall, relate, consolidate and move the memories of one namespace.

    ``embedder`` is an :class:`Embedder` or a spec (``"local"``,
    ``"openai:text-embedding-3-small"``); by default the ``embedding_model`` setting.
    Its vectors are cached in memory and in the store, so a text is embedded once.
    """

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder | str | None = None,
        *,
        namespace: str = "default",
        weights: RecallWeights | None = None,
        cache_entries: int = 10_000,
    ) -> None:
        if not isinstance(store, MemoryStore):
            raise InvalidParameterError("store", f"must be a MemoryStore, got {store!r:.60}")
        self.store = store
        try:
            self.namespace: str = TypeAdapter(Identifier).validate_python(namespace)
        except ValidationError:
            raise InvalidParameterError(
                "namespace", f"must be letters, digits and _.:@- (1-128), got {namespace!r:.60}"
            ) from None
        self._opened = False
        self.weights = weights or RecallWeights()
        if embedder is None:
            from fluent_ai.config import load_settings

            embedder = load_settings().embedding_model
        inner = make_embedder(embedder) if isinstance(embedder, str) else embedder
        if not isinstance(inner, Embedder):
            raise InvalidParameterError(
                "embedder", f"must be an Embedder or a model spec, got {embedder!r:.60}"
            )
        if isinstance(inner, CachedEmbedder):
            self.embedder: Embedder = inner
        else:
            cache = EmbeddingCache(cache_entries, backend=store)
            self.embedder = CachedEmbedder(inner, cache)

    def __repr__(self) -> str:
        return f"MemoryManager(namespace={self.namespace!r}, store={self.store!r})"

    async def __aenter__(self) -> MemoryManager:
        await self.open()
        return self

    async def open(self) -> None:
        """Open the store (done by the first call anyway; opening twice does nothing)."""
        if not self._opened:
            await self.store.open()
            self._opened = True

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store and release the embedder."""
        self._opened = False
        await self.store.close()
        await self.embedder.aclose()

    # -- writing ---------------------------------------------------------------------

    async def remember(
        self,
        content: str,
        *,
        kind: MemoryKind | str = MemoryKind.SEMANTIC,
        importance: float = 0.5,
        metadata: Mapping[str, JsonValue] | None = None,
        expires_in: timedelta | None = None,
        expires_at: datetime | None = None,
    ) -> Memory:
        """Embed and store one memory; returns it (with its id)."""
        [memory] = await self.remember_many(
            [
                self.draft(
                    content,
                    kind=kind,
                    importance=importance,
                    metadata=metadata,
                    expires_in=expires_in,
                    expires_at=expires_at,
                )
            ]
        )
        return memory

    async def remember_many(self, items: Sequence[Memory | str]) -> builtins.list[Memory]:
        """Embed and store several memories in one transaction: all of them or none."""
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise InvalidParameterError("items", "must be a list of memories or strings")
        memories = [
            item.model_copy(update={"namespace": self.namespace})
            if isinstance(item, Memory)
            else self.draft(item)
            for item in items
        ]
        if not memories:
            return []
        await self.open()
        missing = [i for i, m in enumerate(memories) if m.embedding is None]
        if missing:
            vectors = await self.embedder.embed([memories[i].content for i in missing])
            for i, vector in zip(missing, vectors, strict=True):
                memories[i] = memories[i].model_copy(update={"embedding": vector})
        await self.store.add(memories, model=self.embedder.model_id)
        return memories

    def draft(
        self,
        content: str,
        *,
        kind: MemoryKind | str = MemoryKind.SEMANTIC,
        importance: float = 0.5,
        metadata: Mapping[str, JsonValue] | None = None,
        expires_in: timedelta | None = None,
        expires_at: datetime | None = None,
    ) -> Memory:
        """A validated memory of this namespace, not yet stored (for ``remember_many``)."""
        if expires_in is not None and expires_at is not None:
            raise InvalidParameterError("expires_in", "give expires_in or expires_at, not both")
        if expires_in is not None:
            expires_at = utc_now() + expires_in
        try:
            return Memory.model_validate(
                {
                    "namespace": self.namespace,
                    "content": content,
                    "kind": kind,
                    "importance": importance,
                    "metadata": dict(metadata or {}),
                    "expires_at": expires_at,
                }
            )
        except ValidationError as exc:
            raise InvalidParameterError("memory", problems(exc)) from None

    async def get(self, memory_id: str) -> Memory:
        """One memory by id (``MemoryNotFoundError`` when it is not in this namespace)."""
        await self.open()
        found = await self.store.get([memory_id])
        if not found or found[0].namespace != self.namespace:
            raise MemoryNotFoundError([memory_id])
        return found[0]

    async def update(self, memory_id: str, **changes: Any) -> Memory:
        """Change fields of a memory (content, kind, importance, metadata, expires_at);
        new content is embedded again."""
        allowed = {"content", "kind", "importance", "metadata", "expires_at"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidParameterError(
                "update", f"cannot change {', '.join(sorted(unknown))}; allowed: {sorted(allowed)}"
            )
        current = await self.get(memory_id)
        data = current.model_dump(exclude={"embedding"}) | changes
        try:
            updated = Memory.model_validate(data)
        except ValidationError as exc:
            raise InvalidParameterError("update", problems(exc)) from None
        if "content" in changes and updated.content != current.content:
            [vector] = await self.embedder.embed([updated.content])
            updated = updated.model_copy(update={"embedding": vector})
        await self.store.update(updated, model=self.embedder.model_id)
        return await self.get(memory_id)

    async def forget(self, ids: str | Sequence[str]) -> int:
        """Delete memories (and their relations); returns how many existed."""
        wanted = [ids] if isinstance(ids, str) else builtins.list(ids)
        await self.open()
        mine = [m.id for m in await self.store.get(wanted) if m.namespace == self.namespace]
        return await self.store.delete(mine) if mine else 0

    # -- reading ---------------------------------------------------------------------

    async def recall(
        self,
        query: str,
        k: int = 5,
        *,
        kinds: Sequence[MemoryKind | str] | None = None,
        filters: Mapping[str, str | int | float | bool | None] | None = None,
        min_score: float = 0.0,
        explain: bool = False,
    ) -> builtins.list[RecallHit]:
        """The ``k`` memories that best answer ``query``, best first (see module scoring).

        ``filters`` match metadata keys exactly; recalled memories count one access each.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidParameterError("query", "must be non-empty text")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise InvalidParameterError("k", f"must be an integer from 1 to 1000, got {k!r}")
        if not 0.0 <= min_score <= 1.0:
            raise InvalidParameterError("min_score", f"must be within 0..1, got {min_score!r}")
        try:
            selection = MemoryFilter.model_validate(
                {"kinds": set(kinds) if kinds else None, "metadata": dict(filters or {})}
            )
        except ValidationError as exc:
            raise InvalidParameterError("recall", problems(exc)) from None
        await self.open()
        from fluent_ai.memory.retrieval import retrieve

        return await retrieve(self, query, k, selection, min_score=min_score, explain=explain)

    async def list(
        self, *, kinds: Sequence[MemoryKind | str] | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[Memory]:
        """A page of this namespace's memories, oldest first."""
        selection = MemoryFilter.model_validate({"kinds": set(kinds) if kinds else None})
        await self.open()
        return await self.store.list(self.namespace, selection, limit=limit, offset=offset)

    # -- relations -------------------------------------------------------------------

    async def relate(
        self,
        source_id: str,
        target_id: str,
        type: str,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> Relation:
        """Link two memories with a typed relation (``"supports"``, ``"follows"`` …)."""
        await self.get(source_id)
        await self.get(target_id)
        relation = Relation.model_validate(
            {
                "source_id": source_id,
                "target_id": target_id,
                "type": type,
                "metadata": dict(metadata or {}),
            }
        )
        await self.store.relate(relation)
        return relation

    async def related(
        self, memory_id: str, hops: int = 1, *, types: Sequence[str] | None = None
    ) -> builtins.list[RelatedMemory]:
        """Memories reachable within ``hops`` relations (either direction), nearest first."""
        if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= 10:
            raise InvalidParameterError("hops", f"must be an integer from 1 to 10, got {hops!r}")
        await self.get(memory_id)
        from fluent_ai.memory.graph import walk

        return await walk(self.store, memory_id, hops, types)

    # -- maintenance -----------------------------------------------------------------

    async def consolidate(
        self,
        *,
        threshold: float = 0.92,
        summarise_older_than: timedelta | None = None,
        summariser: Any = None,
    ) -> ConsolidationReport:
        """Merge near-duplicates (cosine >= ``threshold``) and, given a ``summariser``
        (a model spec or an agent), summarise old episodes into semantic memories."""
        from fluent_ai.memory.consolidate import consolidate

        return await consolidate(
            self,
            threshold=threshold,
            summarise_older_than=summarise_older_than,
            summariser=summariser,
        )

    async def compact(self) -> CompactionReport:
        """Delete expired working memories and reclaim the space they held."""
        await self.open()
        before = (await self.store.stats()).size_bytes
        deleted = await self.store.delete_expired(utc_now())
        await self.store.vacuum()
        after = (await self.store.stats()).size_bytes
        return CompactionReport(deleted, before, after)

    async def export(self, path: str | Path) -> int:
        """Write this namespace (memories, vectors, relations) as JSON lines; returns the
        number of memories written."""
        from fluent_ai.memory.transfer import export_jsonl

        return await export_jsonl(self, Path(path))

    async def import_(self, path: str | Path) -> int:
        """Read a file written by :meth:`export` into this namespace, all or nothing."""
        from fluent_ai.memory.transfer import import_jsonl

        return await import_jsonl(self, Path(path))

    async def stats(self) -> StoreStats:
        """The store's counts and size."""
        await self.open()
        return await self.store.stats()
