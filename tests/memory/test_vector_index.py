"""The SQLite store's in-memory vector index: exact below the IVF size, IVF above it."""

from __future__ import annotations

import numpy as np
import pytest

from fluent_ai.memory.stores import vector_index
from fluent_ai.memory.stores.vector_index import NamespaceVectors, normalise
from fluent_ai.memory.types import Vector


def clustered(n: int, dims: int, seed: int) -> Vector:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 50), dims))
    data = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dims))
    return normalise(data.astype(np.float32))


def exact_top(data: Vector, query: Vector, k: int) -> list[int]:
    return np.argsort(-(data @ query), kind="stable")[:k].tolist()  # type: ignore[no-any-return]


def test_exact_search_ranks_and_scores() -> None:
    data = clustered(500, 16, 1)
    index = NamespaceVectors(16)
    index.upsert(np.arange(500, dtype=np.int64), data)
    keys, scores = index.search(data[7], 5)
    assert keys.tolist() == exact_top(data, data[7], 5)
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert len(index) == 500
    assert 7 in index


def test_remove_and_replace_keep_the_index_dense_and_right() -> None:
    data = clustered(300, 8, 2)
    index = NamespaceVectors(8)
    index.upsert(np.arange(300, dtype=np.int64), data)
    index.remove(np.array([0, 150, 299, 12345], dtype=np.int64))
    assert len(index) == 297
    assert 150 not in index
    index.upsert(np.array([5], dtype=np.int64), data[150:151])
    keys, _ = index.search(data[150], 1)
    assert keys.tolist() == [5]
    survivors = [k for k in range(300) if k not in (0, 150, 299)]
    scores = index.score(data[3], np.array(survivors, dtype=np.int64))
    assert scores.shape == (297,)


def test_ivf_partition_keeps_recall_high(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_index, "IVF_MIN_SIZE", 1_000)
    data = clustered(6_000, 32, 3)
    index = NamespaceVectors(32)
    for start in range(0, 6_000, 1_000):
        index.upsert(np.arange(start, start + 1_000, dtype=np.int64), data[start : start + 1_000])
    noise = np.random.default_rng(4).standard_normal((40, 32)).astype(np.float32)
    queries = normalise(data[:40] + 0.05 * noise)  # queries resemble what is stored
    hits = sum(
        len(set(index.search(q, 10)[0].tolist()) & set(exact_top(data, q, 10))) for q in queries
    )
    assert hits / 400 >= 0.9
    index.remove(np.arange(0, 3_000, dtype=np.int64))
    assert all(int(k) >= 3_000 for k in index.search(queries[0], 10)[0])
    assert index.search(queries[0], 10, exact=True)[0].tolist() == [
        3_000 + k for k in exact_top(data[3_000:], queries[0], 10)
    ]


def test_empty_index_returns_nothing() -> None:
    keys, scores = NamespaceVectors(4).search(np.ones(4, dtype=np.float32), 3)
    assert keys.size == 0
    assert scores.size == 0
