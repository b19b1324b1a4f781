"""The contract every memory backend implements (SQLite, PostgreSQL).

The memory manager builds recall, consolidation, export and import on these calls
alone, so a backend is complete when the contract test suite (``tests/memory/contract.py``)
passes on it. Stores keep records; they never embed: vectors arrive computed.

Rules every implementation follows:

- every method is async and never blocks the event loop;
- a write is one transaction: ``add`` of a batch stores all of it or nothing;
- a namespace's first vector records its embedding space (model id, dimension); a vector of
  another dimension, or stamped with another model id, is a
  :class:`~fluent_ai.memory.errors.DimensionMismatchError`;
- changes made by other processes on the same store are visible to the next call;
- searches return at most ``k`` :class:`ScoredId` hits, best first, and leave expired
  memories out unless the filter includes them.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from fluent_ai.memory.types import (
    EmbeddingSpace,
    Memory,
    MemoryFilter,
    Relation,
    ScoredId,
    StoreStats,
    Vector,
)

__all__ = ["MemoryStore"]


class MemoryStore(ABC):
    """An async, transactional home for memories, their relations and cached embeddings."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date. Opening an open store does nothing."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Closing twice does nothing."""

    # -- records ---------------------------------------------------------------------

    @abstractmethod
    async def add(self, memories: Sequence[Memory], *, model: str | None = None) -> None:
        """Store new memories in one transaction: all of them, or none on any error.

        ``model`` is the embedder's model id of the vectors in the batch; it is required
        when any memory carries an embedding. A re-used id is a ``DuplicateMemoryError``.
        Efficient for large batches (imports).
        """

    @abstractmethod
    async def get(self, ids: Sequence[str]) -> builtins.list[Memory]:
        """The memories with these ids, with their embeddings, in the order asked.

        Unknown ids are left out, so ``len(result) < len(ids)`` tells that some are gone.
        """

    @abstractmethod
    async def update(self, memory: Memory, *, model: str | None = None) -> None:
        """Replace the stored memory with the same id (``MemoryNotFoundError`` if none).

        ``memory.embedding = None`` keeps the stored vector; a new vector replaces it and
        is checked against the namespace's space like ``add``.
        """

    @abstractmethod
    async def delete(self, ids: Sequence[str]) -> int:
        """Delete these memories and their relations; returns how many existed."""

    @abstractmethod
    async def touch(self, ids: Sequence[str], at: datetime | None = None) -> None:
        """Record one access of each memory: ``access_count += 1``, ``last_accessed_at = at``."""

    @abstractmethod
    async def list(
        self,
        namespace: str,
        filter: MemoryFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        with_embeddings: bool = False,
    ) -> builtins.list[Memory]:
        """A page of a namespace's memories, oldest first (``created_at``, then ``id``).

        Paging to the end with ``with_embeddings=True`` is how an export reads everything.
        """

    @abstractmethod
    async def count(self, namespace: str, filter: MemoryFilter | None = None) -> int:
        """How many memories of the namespace pass the filter."""

    @abstractmethod
    async def namespaces(self) -> builtins.list[str]:
        """Every namespace that holds at least one memory, sorted."""

    # -- search ----------------------------------------------------------------------

    @abstractmethod
    async def vector_search(
        self,
        namespace: str,
        vector: Vector,
        k: int = 10,
        filter: MemoryFilter | None = None,
        *,
        exact: bool = False,
    ) -> builtins.list[ScoredId]:
        """The ``k`` memories most similar to ``vector`` (cosine similarity, highest first).

        Approximate above a size the backend documents (recall@10 >= 0.95), exact with
        ``exact=True``. With a filter, still ``k`` hits whenever ``k`` memories pass it.
        A namespace without vectors gives ``[]``.
        """

    @abstractmethod
    async def text_search(
        self,
        namespace: str,
        query: str,
        k: int = 10,
        filter: MemoryFilter | None = None,
    ) -> builtins.list[ScoredId]:
        """The ``k`` memories that best match ``query``'s words (BM25, higher is better).

        ``query`` is plain user text: any character is allowed and none is query syntax;
        a memory matching more (and rarer) words ranks higher.
        """

    @abstractmethod
    async def dimensions(self, namespace: str) -> EmbeddingSpace | None:
        """The namespace's embedding space, or ``None`` before its first vector."""

    # -- relations -------------------------------------------------------------------

    @abstractmethod
    async def relate(self, relation: Relation) -> None:
        """Store a relation (replacing one with the same source, target and type).

        Both ends must exist (``MemoryNotFoundError``); deleting either end deletes it.
        """

    @abstractmethod
    async def unrelate(self, source_id: str, target_id: str, type: str) -> bool:
        """Delete one relation; ``False`` when there was none."""

    @abstractmethod
    async def relations(self, memory_id: str) -> builtins.list[Relation]:
        """Every relation from or to this memory."""

    @abstractmethod
    async def neighbours(
        self, ids: Sequence[str], types: Sequence[str] | None = None
    ) -> builtins.list[Relation]:
        """Every relation touching any of ``ids`` (of these ``types``): one hop of a walk."""

    # -- maintenance -----------------------------------------------------------------

    @abstractmethod
    async def delete_expired(self, now: datetime | None = None) -> int:
        """Delete memories whose ``expires_at`` is at or before ``now``; returns how many."""

    @abstractmethod
    async def vacuum(self) -> None:
        """Reclaim space and tidy indexes after large deletions."""

    @abstractmethod
    async def stats(self) -> StoreStats:
        """Counts and sizes, for ``fluent-ai memory stats`` and monitoring."""

    # -- the embedding cache (fluent_ai.embeddings.EmbeddingCacheBackend) -------------

    @abstractmethod
    async def get_embeddings(self, model: str, keys: Sequence[str]) -> dict[str, Vector]:
        """Cached vectors of ``model`` for the keys held (hex sha256 of each text)."""

    @abstractmethod
    async def put_embeddings(self, model: str, items: Mapping[str, Vector]) -> None:
        """Cache vectors of ``model`` by key, replacing any held."""
