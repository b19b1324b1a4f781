"""An embedder that asks its model only for the texts it has not seen.

A call looks each distinct text up in memory, then the rest in the persistent backend,
and sends only what is still missing to the wrapped embedder, in one batch (the same
text twice in a call is embedded once). The answers are merged back in the caller's
order and kept in both layers. Every vector, from whichever layer, is checked against
the model's dimension: a store filled by another model fails loudly instead of mixing.
"""

from __future__ import annotations

import numpy as np

from fluent_ai.embeddings.base import DimensionMismatchError, Embedder, Vectors, as_vectors
from fluent_ai.embeddings.cache import EmbeddingCache, text_key

__all__ = ["CachedEmbedder"]


class CachedEmbedder(Embedder):
    """``inner`` behind an :class:`EmbeddingCache` (a fresh in-memory one by default)."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None = None) -> None:
        self.inner = inner
        self.cache = cache if cache is not None else EmbeddingCache()
        self.model_id = inner.model_id

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    async def _embed(self, texts: list[str]) -> Vectors:
        keys = [text_key(text) for text in texts]
        wanted = dict(zip(keys, texts, strict=True))  # distinct texts, first-seen order
        found: dict[str, Vectors] = {}
        for key in wanted:
            vector = self.cache.get(self.model_id, key)
            if vector is not None:
                found[key] = vector
        memory_hits = len(found)
        stored = await self._from_backend([k for k in wanted if k not in found])
        found.update(stored)
        missing = [k for k in wanted if k not in found]
        if missing:
            fresh = await self.inner.embed([wanted[k] for k in missing])
            new = dict(zip(missing, fresh, strict=True))
            for key, vector in new.items():
                self.cache.put(self.model_id, key, vector)
            if self.cache.backend is not None:
                await self.cache.backend.put_embeddings(self.model_id, new)
            found.update(new)
        self.cache.count(
            hits=memory_hits + len(stored), misses=len(missing), persistent_hits=len(stored)
        )
        return self._merged(found, keys)

    async def _from_backend(self, keys: list[str]) -> dict[str, Vectors]:
        """The vectors the backend holds for ``keys``, checked and copied into memory."""
        backend = self.cache.backend
        if backend is None or not keys:
            return {}
        answer = await backend.get_embeddings(self.model_id, keys)
        asked = set(keys)
        stored: dict[str, Vectors] = {}
        for key, raw in answer.items():
            if key not in asked:
                continue
            vector = np.asarray(raw, dtype=np.float32)
            if vector.ndim != 1 or (self.dimensions and vector.shape[0] != self.dimensions):
                got = int(vector.shape[-1]) if vector.ndim else 0
                raise DimensionMismatchError(
                    self.model_id, self.dimensions, got, where="the persistent embedding cache"
                )
            self.cache.put(self.model_id, key, vector)
            stored[key] = vector
        return stored

    def _merged(self, found: dict[str, Vectors], keys: list[str]) -> Vectors:
        widths = {int(found[k].shape[0]) for k in keys}
        if len(widths) > 1:  # only when the model's dimension is not known up front
            expected, got = sorted(widths)[:2]
            raise DimensionMismatchError(self.model_id, expected, got, where="the cache")
        rows = [found[k] for k in keys]
        return as_vectors(self.model_id, rows, count=len(keys), dimensions=self.dimensions)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, max_entries={self.cache.max_entries})"
