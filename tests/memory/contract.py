"""The memory store contract: every backend passes these tests unchanged.

A backend's test module subclasses :class:`MemoryStoreContract` and provides one fixture,
``store_factory``: a picklable zero-argument callable that returns a new, unopened store
on one shared, initially empty location (child processes call it too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fluent_ai.memory import (
    DimensionMismatchError,
    DuplicateMemoryError,
    Memory,
    MemoryFilter,
    MemoryKind,
    MemoryNotFoundError,
    MemoryStore,
    Relation,
)
from tests.memory.contract_processes import DIMS, MODEL, StoreFactory, vector_for
from tests.memory.contract_robustness import RobustnessContract

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def mem(n: int, content: str | None = None, **fields: object) -> Memory:
    fields.setdefault("embedding", vector_for(n))
    return Memory(id=f"m{n}", content=content or f"memory number {n}", **fields)


class MemoryStoreContract(RobustnessContract):
    """The behaviour every :class:`MemoryStore` must have (robustness cases inherited)."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError("a backend's test module provides store_factory")

    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> AsyncIterator[MemoryStore]:
        async with store_factory() as opened:
            yield opened

    # -- CRUD ------------------------------------------------------------------------

    async def test_add_then_get_round_trips_every_field(self, store: MemoryStore) -> None:
        original = Memory(
            id="rich",
            namespace="ann",
            kind=MemoryKind.WORKING,
            content="Ann prefers green tea — ☕ not coffee",
            metadata={"user": "ann", "tags": ["tea"], "score": 1.5, "nested": {"a": None}},
            importance=0.9,
            created_at=T0,
            last_accessed_at=T0 + timedelta(seconds=5),
            access_count=3,
            expires_at=datetime(2999, 1, 1, tzinfo=UTC),
            derived_from=["a", "b"],
            embedding=vector_for(7),
        )
        await store.add([original, mem(1, embedding=None)], model=MODEL)
        got = await store.get(["rich", "missing", "m1"])
        assert [m.id for m in got] == ["rich", "m1"]
        assert got[0] == original
        assert got[0].embedding is not None
        assert got[0].embedding.dtype == np.float32
        assert got[1].embedding is None
        assert await store.count("ann") == 1

    async def test_update_replaces_fields_and_keeps_the_vector(self, store: MemoryStore) -> None:
        await store.add([mem(1), mem(2)], model=MODEL)
        (first,) = await store.get(["m1"])
        changed = first.model_copy(update={"content": "renamed zebra", "importance": 1.0})
        changed.embedding = None
        await store.update(changed)
        (after,) = await store.get(["m1"])
        assert after.content == "renamed zebra"
        assert after.importance == 1.0
        assert after.embedding is not None
        assert np.array_equal(after.embedding, vector_for(1))
        assert [h.id for h in await store.text_search("default", "zebra")] == ["m1"]
        await store.update(after.model_copy(update={"embedding": vector_for(2)}), model=MODEL)
        hits = await store.vector_search("default", vector_for(2), 2)
        assert {h.id for h in hits} == {"m1", "m2"}
        with pytest.raises(MemoryNotFoundError, match="nope"):
            await store.update(Memory(id="nope", content="x"))

    async def test_delete_removes_from_every_search(self, store: MemoryStore) -> None:
        await store.add([mem(n, f"apple {n}") for n in range(5)], model=MODEL)
        assert await store.delete(["m1", "m3", "unknown"]) == 2
        assert await store.delete(["m1"]) == 0
        assert {m.id for m in await store.list("default")} == {"m0", "m2", "m4"}
        assert {h.id for h in await store.text_search("default", "apple")} == {"m0", "m2", "m4"}
        vector_hits = await store.vector_search("default", vector_for(1), 10)
        assert {h.id for h in vector_hits} == {"m0", "m2", "m4"}

    async def test_touch_records_accesses(self, store: MemoryStore) -> None:
        await store.add([mem(1, created_at=T0)], model=MODEL)
        later = T0 + timedelta(days=2)
        await store.touch(["m1", "unknown"], later)
        await store.touch(["m1"], later)
        (got,) = await store.get(["m1"])
        assert got.access_count == 2
        assert got.last_accessed_at == later

    async def test_list_pages_oldest_first(self, store: MemoryStore) -> None:
        batch = [mem(n, created_at=T0 + timedelta(minutes=10 - n)) for n in range(10)]
        await store.add(batch, model=MODEL)
        await store.add([mem(99, namespace="other")], model=MODEL)
        first = await store.list("default", limit=4)
        rest = await store.list("default", limit=100, offset=4, with_embeddings=True)
        assert [m.id for m in first + rest] == [f"m{n}" for n in range(9, -1, -1)]
        assert first[0].embedding is None
        assert rest[0].embedding is not None
        assert await store.namespaces() == ["default", "other"]
        assert await store.count("default") == 10

    # -- search ----------------------------------------------------------------------

    async def test_vector_search_ranks_nearest_first(self, store: MemoryStore) -> None:
        memories = [mem(n) for n in range(40)]
        await store.add(memories, model=MODEL)
        query = (vector_for(5) + 0.3 * vector_for(6)).astype(np.float32)
        hits = await store.vector_search("default", query, 5)
        expected = sorted(memories, key=lambda m: -cosine(query, m.embedding))[:5]  # type: ignore[arg-type]
        assert [h.id for h in hits] == [m.id for m in expected]
        assert hits[0].score == pytest.approx(cosine(query, vector_for(5)), abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert await store.vector_search("empty-namespace", query, 5) == []

    async def test_text_search_ranks_by_bm25(self, store: MemoryStore) -> None:
        await store.add(
            [
                mem(1, "the quick brown fox jumps"),
                mem(2, "a fox and a fox and another fox hunting foxes"),
                mem(3, "brown bread is tasty"),
                mem(4, "nothing related at all"),
            ],
            model=MODEL,
        )
        hits = await store.text_search("default", "brown fox")
        assert [h.id for h in hits][:1] == ["m1"]
        assert {h.id for h in hits} == {"m1", "m2", "m3"}
        assert all(h.score > 0 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        for hostile in ['fox" OR "', "fox AND (", "NEAR(fox", "-fox*", "col:fox", "'", '"']:
            await store.text_search("default", hostile)
        assert await store.text_search("default", "  ?! ") == []
        assert [h.id for h in await store.text_search("default", "FOX", k=1)] == ["m2"]

    async def test_filters_apply_to_list_and_both_searches(self, store: MemoryStore) -> None:
        now = datetime.now(UTC)
        await store.add(
            [
                mem(1, "tea note", kind=MemoryKind.EPISODIC, metadata={"user": "ann", "n": 1}),
                mem(2, "tea fact", metadata={"user": "bob", "vip": True}, created_at=T0),
                mem(3, "tea old", metadata={"user": "ann", "gone": None}, created_at=T0),
                mem(4, "tea scratch", kind=MemoryKind.WORKING, expires_at=now - timedelta(1)),
            ],
            model=MODEL,
        )
        cases = [
            (MemoryFilter(kinds=frozenset({MemoryKind.EPISODIC})), {"m1"}),
            (MemoryFilter(metadata={"user": "ann"}), {"m1", "m3"}),
            (MemoryFilter(metadata={"n": 1}), {"m1"}),
            (MemoryFilter(metadata={"vip": True}), {"m2"}),
            (MemoryFilter(metadata={"gone": None}), {"m3"}),
            (MemoryFilter(metadata={"user": "ann", "n": 1}), {"m1"}),
            (MemoryFilter(created_before=T0 + timedelta(1)), {"m2", "m3"}),
            (MemoryFilter(created_after=T0 + timedelta(1)), {"m1"}),
            (MemoryFilter(include_expired=True), {"m1", "m2", "m3", "m4"}),
            (MemoryFilter(), {"m1", "m2", "m3"}),
        ]
        for memory_filter, expected in cases:
            listed = {m.id for m in await store.list("default", memory_filter)}
            text = {h.id for h in await store.text_search("default", "tea", 10, memory_filter)}
            vectors = await store.vector_search("default", vector_for(1), 10, memory_filter)
            assert listed == text == {h.id for h in vectors} == expected, memory_filter
            assert await store.count("default", memory_filter) == len(expected)

    async def test_selective_filter_still_returns_k(self, store: MemoryStore) -> None:
        rare = {n for n in range(0, 600, 40)}
        await store.add([mem(n, metadata={"rare": n in rare}) for n in range(600)], model=MODEL)
        query = vector_for(3)
        hits = await store.vector_search(
            "default", query, 10, MemoryFilter(metadata={"rare": True})
        )
        expected = sorted(rare, key=lambda n: -cosine(query, vector_for(n)))[:10]
        assert [h.id for h in hits] == [f"m{n}" for n in expected]

    # -- relations -------------------------------------------------------------------

    async def test_relations_and_multi_hop(self, store: MemoryStore) -> None:
        await store.add([mem(n) for n in range(4)], model=MODEL)
        await store.relate(Relation(source_id="m0", target_id="m1", type="knows"))
        await store.relate(Relation(source_id="m1", target_id="m2", type="works_at"))
        await store.relate(
            Relation(source_id="m1", target_id="m2", type="works_at", metadata={"x": 1})
        )
        await store.relate(Relation(source_id="m2", target_id="m3", type="knows"))
        around_m1 = await store.relations("m1")
        assert {(r.source_id, r.target_id, r.type) for r in around_m1} == {
            ("m0", "m1", "knows"),
            ("m1", "m2", "works_at"),
        }
        assert next(r for r in around_m1 if r.type == "works_at").metadata == {"x": 1}
        seen, frontier = {"m0"}, ["m0"]
        for _ in range(3):
            step = await store.neighbours(frontier)
            frontier = [i for r in step for i in (r.source_id, r.target_id) if i not in seen]
            seen.update(frontier)
        assert seen == {"m0", "m1", "m2", "m3"}
        assert {r.type for r in await store.neighbours(["m1", "m2"], types=["knows"])} == {"knows"}
        assert await store.unrelate("m0", "m1", "knows") is True
        assert await store.unrelate("m0", "m1", "knows") is False
        await store.delete(["m2"])
        assert await store.relations("m3") == []
        with pytest.raises(MemoryNotFoundError, match="ghost"):
            await store.relate(Relation(source_id="m0", target_id="ghost", type="knows"))

    # -- transactions, expiry, spaces, cache -----------------------------------------

    async def test_failing_batch_leaves_nothing(self, store: MemoryStore) -> None:
        await store.add([mem(1)], model=MODEL)
        with pytest.raises(DuplicateMemoryError, match="m1"):
            await store.add([mem(10, "unique kiwi"), mem(1), mem(11)], model=MODEL)
        with pytest.raises(DuplicateMemoryError, match="m12"):
            await store.add([mem(12, "unique kiwi"), mem(12)], model=MODEL)
        wrong = Memory(id="w", content="wrong size", embedding=np.ones(DIMS + 1))
        with pytest.raises(DimensionMismatchError):
            await store.add([mem(13, "unique kiwi"), wrong], model=MODEL)
        assert [m.id for m in await store.list("default")] == ["m1"]
        assert await store.text_search("default", "kiwi") == []
        assert [h.id for h in await store.vector_search("default", vector_for(10), 5)] == ["m1"]

    async def test_expiry_and_delete_expired(self, store: MemoryStore) -> None:
        now = datetime.now(UTC)
        await store.add(
            [
                mem(1, expires_at=now - timedelta(seconds=1), kind=MemoryKind.WORKING),
                mem(2, expires_at=now + timedelta(hours=1), kind=MemoryKind.WORKING),
                mem(3),
            ],
            model=MODEL,
        )
        assert {m.id for m in await store.list("default")} == {"m2", "m3"}
        assert (await store.stats()).expired == 1
        assert await store.delete_expired() == 1
        assert await store.get(["m1"]) == []
        assert await store.delete_expired(now + timedelta(hours=2)) == 1
        await store.vacuum()
        assert [m.id for m in await store.list("default", MemoryFilter(include_expired=True))] == [
            "m3"
        ]

    async def test_dimension_and_model_are_fixed_per_namespace(self, store: MemoryStore) -> None:
        assert await store.dimensions("default") is None
        await store.add([mem(1)], model=MODEL)
        space = await store.dimensions("default")
        assert space is not None
        assert space == (MODEL, DIMS)
        with pytest.raises(DimensionMismatchError, match=f"{DIMS}-d"):
            await store.add([Memory(content="x", embedding=np.ones(3))], model=MODEL)
        with pytest.raises(DimensionMismatchError, match="other-model"):
            await store.add([mem(2)], model="other-model")
        with pytest.raises(DimensionMismatchError):
            await store.vector_search("default", np.ones(3, dtype=np.float32))
        await store.add([Memory(namespace="small", content="x", embedding=np.ones(3))], model="m3")
        assert await store.dimensions("small") == (("m3", 3))
        stats = await store.stats()
        assert stats.memories == 2
        assert stats.with_embedding == 2
        assert stats.spaces["small"].dimensions == 3

    async def test_embedding_cache_round_trip(self, store: MemoryStore) -> None:
        keys = [f"{n:064x}" for n in range(3)]
        vectors = {key: vector_for(n) for n, key in enumerate(keys)}
        assert await store.get_embeddings(MODEL, keys) == {}
        await store.put_embeddings(MODEL, vectors)
        got = await store.get_embeddings(MODEL, [*keys, "f" * 64, keys[0]])
        assert set(got) == set(keys)
        for key in keys:
            assert got[key].dtype == np.float32
            assert np.array_equal(got[key], vectors[key])
        assert await store.get_embeddings("another-model", keys) == {}
        await store.put_embeddings(MODEL, {keys[0]: vector_for(99)})
        assert np.array_equal(
            (await store.get_embeddings(MODEL, keys[:1]))[keys[0]], vector_for(99)
        )
        assert (await store.stats()).cached_embeddings == 3
