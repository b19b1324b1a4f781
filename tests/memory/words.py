"""A deterministic bag-of-words embedder: texts sharing words get similar vectors.

Fast and predictable for manager tests (the real MiniLM model is exercised in a few
integration tests); each word hashes to a fixed direction, so "tea" is close to "tea
please" and far from "rust compiler".
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from fluent_ai.embeddings import Embedder, Vectors

DIMENSIONS = 64


def word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
    return np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)


class WordsEmbedder(Embedder):
    """Sum of per-word random directions, normalised; counts what it embedded."""

    def __init__(self, model_id: str = "test:words") -> None:
        self.model_id = model_id
        self.embedded: list[str] = []

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    async def _embed(self, texts: list[str]) -> Vectors:
        self.embedded.extend(texts)
        rows = []
        for text in texts:
            words = re.findall(r"[a-z0-9]+", text.lower()) or ["_"]
            total = np.sum([word_vector(w) for w in words], axis=0)
            rows.append(total / np.linalg.norm(total))
        return np.asarray(rows, dtype=np.float32)
