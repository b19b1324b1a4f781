"""Test doubles for the embeddings package: a counting embedder and an in-memory backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fluent_ai.embeddings import Embedder, Vectors


class CountingEmbedder(Embedder):
    """Deterministic vectors from the text's length and first letter; records each call."""

    def __init__(self, dimensions: int = 4, model_id: str = "test:counting") -> None:
        self.model_id = model_id
        self._dimensions = dimensions
        self.calls: list[list[str]] = []

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @staticmethod
    def vector(text: str, dimensions: int = 4) -> list[float]:
        return [float(len(text) + i) + ord(text[0]) / 1000 for i in range(dimensions)]

    async def _embed(self, texts: list[str]) -> Vectors:
        self.calls.append(list(texts))
        return np.array([self.vector(t, self._dimensions) for t in texts], dtype=np.float32)


class MemoryBackend:
    """An :class:`EmbeddingCacheBackend` held in a dict, recording what it was asked."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], Vectors] = {}
        self.gets: list[list[str]] = []
        self.puts: list[list[str]] = []

    async def get_embeddings(self, model: str, keys: Sequence[str]) -> dict[str, Vectors]:
        self.gets.append(list(keys))
        return {k: self.data[(model, k)] for k in keys if (model, k) in self.data}

    async def put_embeddings(self, model: str, items: Mapping[str, Vectors]) -> None:
        self.puts.append(list(items))
        for key, vector in items.items():
            self.data[(model, key)] = np.array(vector, dtype=np.float32)
