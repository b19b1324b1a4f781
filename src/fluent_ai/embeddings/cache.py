"""Where computed vectors are kept: a bounded in-memory LRU, and optionally a store.

Vectors are keyed by ``(model_id, sha256 of the UTF-8 text)``: the same text embedded by
two models gives two unrelated vectors, and a hash keeps keys small whatever the text's
length. The persistent side is any object with the :class:`EmbeddingCacheBackend` shape
(the SQLite and PostgreSQL memory stores implement it), so vectors survive restarts and
are shared by every process using the same store.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from fluent_ai.embeddings.base import Vectors
from fluent_ai.errors import InvalidParameterError

__all__ = ["CacheStats", "EmbeddingCache", "EmbeddingCacheBackend", "text_key"]

DEFAULT_MAX_ENTRIES = 10_000


@runtime_checkable
class EmbeddingCacheBackend(Protocol):
    """Persistent vectors by model and key; implemented by the memory stores.

    ``model`` is the embedder's ``model_id``; ``keys`` are hex sha256 digests of the
    UTF-8 texts (:func:`text_key`). ``get_embeddings`` answers only the keys it holds
    (``(d,)`` float32 arrays); ``put_embeddings`` stores or replaces. A structural type:
    stores need not inherit it.
    """

    async def get_embeddings(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]: ...

    async def put_embeddings(self, model: str, items: Mapping[str, Vectors]) -> None: ...


def text_key(text: str) -> str:
    """The cache key of ``text``: the hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since the cache was made (or :meth:`EmbeddingCache.reset_stats`).

    Each distinct text of a call counts once: a ``hit`` when its vector was found (in
    memory, or ``persistent_hits`` of them in the backend), a ``miss`` when it had to be
    embedded.
    """

    hits: int
    misses: int
    persistent_hits: int
    entries: int
    max_entries: int

    @property
    def hit_rate(self) -> float:
        """Share of distinct texts served from the cache (0 when nothing was asked)."""
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class EmbeddingCache:
    """A bounded LRU of vectors (``max_entries`` vectors, 0 for none) and a backend.

    Safe to share between embedders (keys carry the model) and threads. Vectors kept here
    are read-only, so a caller changing a returned array cannot corrupt the cache.
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        backend: EmbeddingCacheBackend | None = None,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
            raise InvalidParameterError(
                "max_entries", f"must be an integer >= 0, got {max_entries!r}"
            )
        self.max_entries = max_entries
        self.backend = backend
        self._entries: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._persistent_hits = 0

    def get(self, model: str, key: str) -> Vectors | None:
        """The vector held in memory for ``(model, key)``, marked recently used."""
        with self._lock:
            vector = self._entries.get((model, key))
            if vector is not None:
                self._entries.move_to_end((model, key))
            return vector

    def put(self, model: str, key: str, vector: Vectors) -> None:
        """Keep ``vector`` in memory (a read-only copy), evicting the least recently used."""
        if not self.max_entries:
            return
        kept = np.array(vector, dtype=np.float32, copy=True)
        kept.setflags(write=False)
        with self._lock:
            self._entries[(model, key)] = kept
            self._entries.move_to_end((model, key))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def count(self, *, hits: int = 0, misses: int = 0, persistent_hits: int = 0) -> None:
        """Add to the counters (the cached embedder reports each call here)."""
        with self._lock:
            self._hits += hits
            self._misses += misses
            self._persistent_hits += persistent_hits

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._hits,
                self._misses,
                self._persistent_hits,
                len(self._entries),
                self.max_entries,
            )

    def reset_stats(self) -> None:
        with self._lock:
            self._hits = self._misses = self._persistent_hits = 0

    def clear(self) -> None:
        """Forget every vector held in memory (the backend keeps its own)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
