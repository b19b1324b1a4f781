"""CachedEmbedder: only misses are embedded, order is kept, memory is bounded, stores persist."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fluent_ai.embeddings import (
    CachedEmbedder,
    DimensionMismatchError,
    EmbeddingCache,
    EmbeddingCacheBackend,
    embedder,
    text_key,
)
from fluent_ai.errors import ConfigurationError, InvalidParameterError
from tests.embeddings.fakes import CountingEmbedder, MemoryBackend
from tests.fakes.openai_extras_server import FakeExtrasServer


def _expected(texts: list[str], dimensions: int = 4) -> np.ndarray:
    return np.array([CountingEmbedder.vector(t, dimensions) for t in texts], dtype=np.float32)


async def test_partial_hits_embed_only_the_misses_in_order() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    await cached.embed(["alpha", "beta"])
    vectors = await cached.embed(["gamma", "alpha", "delta", "beta"])
    assert inner.calls == [["alpha", "beta"], ["gamma", "delta"]]
    np.testing.assert_array_equal(vectors, _expected(["gamma", "alpha", "delta", "beta"]))
    stats = cached.cache.stats
    assert (stats.hits, stats.misses, stats.entries) == (2, 4, 4)
    assert stats.hit_rate == pytest.approx(2 / 6)


async def test_a_text_repeated_in_one_batch_is_embedded_once() -> None:
    inner = CountingEmbedder()
    vectors = await CachedEmbedder(inner).embed(["x", "yy", "x", "x", "yy"])
    assert inner.calls == [["x", "yy"]]
    np.testing.assert_array_equal(vectors, _expected(["x", "yy", "x", "x", "yy"]))


async def test_a_fully_cached_batch_calls_nothing_and_returns_a_fresh_array() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    first = await cached.embed(["a", "b"])
    second = await cached.embed(["b", "a"])
    assert len(inner.calls) == 1
    np.testing.assert_array_equal(second, first[::-1])
    second[0, 0] = 1e9  # the caller owns its array: the cache is untouched
    np.testing.assert_array_equal(await cached.embed(["b"]), first[1:])


async def test_memory_is_a_bounded_lru() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(max_entries=2))
    await cached.embed(["a", "b"])
    await cached.embed(["a"])  # a is now the most recently used
    await cached.embed(["c"])  # evicts b
    assert len(cached.cache) == 2
    await cached.embed(["a", "b"])
    assert inner.calls[-1] == ["b"]


async def test_zero_entries_keeps_nothing_in_memory() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(max_entries=0))
    await cached.embed(["a"])
    await cached.embed(["a"])
    assert inner.calls == [["a"], ["a"]]


async def test_keys_carry_the_model() -> None:
    cache = EmbeddingCache()
    one, two = CountingEmbedder(model_id="test:one"), CountingEmbedder(model_id="test:two")
    await CachedEmbedder(one, cache).embed(["same text"])
    await CachedEmbedder(two, cache).embed(["same text"])
    assert len(one.calls) == len(two.calls) == 1
    assert cache.get("test:one", text_key("same text")) is not None


async def test_persistent_backend_round_trip() -> None:
    backend = MemoryBackend()
    assert isinstance(backend, EmbeddingCacheBackend)
    first = CachedEmbedder(CountingEmbedder(), EmbeddingCache(backend=backend))
    await first.embed(["kept", "also kept"])
    key = hashlib.sha256(b"kept").hexdigest()
    assert backend.puts == [[key, text_key("also kept")]]
    assert ("test:counting", key) in backend.data

    inner = CountingEmbedder()  # a new process: empty memory, same store
    second = CachedEmbedder(inner, EmbeddingCache(backend=backend))
    vectors = await second.embed(["new", "kept", "also kept"])
    assert inner.calls == [["new"]]
    assert backend.gets[-1] == [text_key("new"), key, text_key("also kept")]
    np.testing.assert_array_equal(vectors, _expected(["new", "kept", "also kept"]))
    stats = second.cache.stats
    assert (stats.hits, stats.persistent_hits, stats.misses) == (2, 2, 1)
    await second.embed(["kept"])  # now in memory: the backend is not asked again
    assert backend.gets[-1] == [text_key("new"), key, text_key("also kept")]


async def test_backend_vectors_of_another_dimension_are_refused() -> None:
    backend = MemoryBackend()
    backend.data[("test:counting", text_key("old"))] = np.ones(8, dtype=np.float32)
    cached = CachedEmbedder(CountingEmbedder(dimensions=4), EmbeddingCache(backend=backend))
    with pytest.raises(DimensionMismatchError, match="expected vectors of 4 dimensions") as info:
        await cached.embed(["old"])
    assert (info.value.expected, info.value.got) == (4, 8)
    assert isinstance(info.value, ConfigurationError)


async def test_an_inner_embedder_of_the_wrong_dimension_is_refused() -> None:
    class Liar(CountingEmbedder):
        @property
        def dimensions(self) -> int:
            return 5

    with pytest.raises(DimensionMismatchError):
        await CachedEmbedder(Liar(dimensions=4)).embed(["a"])


async def test_cache_in_front_of_a_remote_model_sends_only_misses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeExtrasServer(api_key="sk-e") as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-e")
        remote = embedder("openai:text-embedding-3-small", dimensions=3, cache=EmbeddingCache())
        try:
            await remote.embed(["one", "two"])
            vectors = await remote.embed(["three", "two", "one", "four", "three"])
        finally:
            await remote.aclose()
        sent = [r.body["input"] for r in server.requests_to("/embeddings")]
    assert sent == [["one", "two"], ["three", "four"]]
    expected = [server.vector(t) for t in ["three", "two", "one", "four", "three"]]
    np.testing.assert_allclose(vectors, expected)


@pytest.mark.parametrize("size", [-1, 1.5, True, "10"])
def test_bad_cache_size_is_refused(size: object) -> None:
    with pytest.raises(InvalidParameterError, match="max_entries"):
        EmbeddingCache(max_entries=size)  # type: ignore[arg-type]


async def test_empty_input_touches_nothing() -> None:
    counting, backend = CountingEmbedder(), MemoryBackend()
    vectors = await CachedEmbedder(counting, EmbeddingCache(backend=backend)).embed([])
    assert vectors.shape == (0, 4)
    assert counting.calls == []
    assert backend.gets == []
