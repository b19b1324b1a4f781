"""Contract cases about the search primitives: full text, filters, vocabulary, vectors.

Mixed into :class:`tests.chat.contract.ChatStoreContract` (which provides ``store``).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from fluent_ai.chat.store import ChatStore, InvalidChatDataError, MessageNotFoundError
from fluent_ai.chat.types import ConversationRecord, HistoryFilter
from fluent_ai.types import Role
from tests.chat.contract_support import T0, both, either, malformed, msg, phrase, prefix

MODEL = "test-embedder"


def unit(seed: int, dims: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)


async def _corpus(store: ChatStore) -> None:
    await store.create_conversation(ConversationRecord(id="w", session="work", tags=["ops"]))
    await store.create_conversation(ConversationRecord(id="h", session="home"))
    await store.append(
        "w",
        None,
        [
            msg("w", "the quick brown fox jumps over the lazy dog", id="w1", n=1),
            msg(
                "w",
                "a fox and a fox and another fox hunting foxes",
                id="w2",
                n=2,
                role="assistant",
                model="openai:gpt-4o",
            ),
            msg("w", "brown bread is tasty", id="w3", n=3),
        ],
    )
    await store.append(
        "h",
        None,
        [
            msg("h", "running shoes for the fox, brown ones", id="h1", n=10),
            msg("h", "nothing related at all", id="h2", n=11, role="assistant"),
        ],
    )


class SearchContract:
    async def test_text_search_ranks_by_bm25(self, store: ChatStore) -> None:
        await _corpus(store)
        hits = await store.search_text(both(store, "brown", "fox"))
        assert {h.id for h in hits} == {"w1", "h1"}
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(h.score > 0 for h in hits)
        ranked = await store.search_text("fox")
        assert ranked[0].id == "w2"
        assert {h.id for h in ranked} == {"w1", "w2", "h1"}
        assert [h.id for h in await store.search_text(phrase(store, "brown", "fox"))] == ["w1"]
        found = {h.id for h in await store.search_text(either(store, "bread", "lazy"))}
        assert found == {"w1", "w3"}
        assert {h.id for h in await store.search_text("run")} == {"h1"}
        assert {h.id for h in await store.search_text(prefix(store, "tast"))} == {"w3"}
        page1 = await store.search_text("fox", limit=2)
        page2 = await store.search_text("fox", limit=2, offset=2)
        assert [h.id for h in page1 + page2] == [h.id for h in ranked]
        assert await store.search_text("zebra") == []

    async def test_a_malformed_native_query_is_a_typed_error(self, store: ChatStore) -> None:
        from fluent_ai.chat.store import InvalidSearchQueryError

        await _corpus(store)
        with pytest.raises(InvalidSearchQueryError):
            await store.search_text(malformed(store))
        with pytest.raises(InvalidChatDataError):
            await store.search_text("   ")

    async def test_filters_apply_to_search_and_counts(self, store: ChatStore) -> None:
        await _corpus(store)
        cases = [
            (HistoryFilter(), {"w1", "w2", "h1"}),
            (HistoryFilter(session="work"), {"w1", "w2"}),
            (HistoryFilter(tags=frozenset({"OPS"})), {"w1", "w2"}),
            (HistoryFilter(tags=frozenset({"ops", "other"})), set()),
            (HistoryFilter(roles=frozenset({Role.ASSISTANT})), {"w2"}),
            (HistoryFilter(model="openai:gpt-4o"), {"w2"}),
            (HistoryFilter(conversation_id="h"), {"h1"}),
            (HistoryFilter(since=T0 + timedelta(minutes=2)), {"w2", "h1"}),
            (HistoryFilter(until=T0 + timedelta(minutes=2)), {"w1"}),
            (HistoryFilter(session="home", roles=frozenset({Role.USER})), {"h1"}),
        ]
        for spec, expected in cases:
            assert {h.id for h in await store.search_text("fox", spec)} == expected, spec
        assert await store.count_messages() == 5
        assert await store.count_messages(HistoryFilter(session="work")) == 3
        assert await store.count_messages(HistoryFilter(roles=frozenset({Role.ASSISTANT}))) == 2
        # A conversation's new session (and tags) reach its messages' filters.
        record = await store.get_conversation("h")
        await store.update_conversation(record.model_copy(update={"session": "work"}))
        assert await store.count_messages(HistoryFilter(session="work")) == 5
        await store.add_tags("h", ["ops"])
        found = await store.search_text("fox", HistoryFilter(tags=frozenset({"ops"})))
        assert {h.id for h in found} == {"w1", "w2", "h1"}

    async def test_vocabulary_lists_indexed_terms(self, store: ChatStore) -> None:
        await _corpus(store)
        assert await store.vocabulary("fo") == ["for", "fox"]
        assert "run" in await store.vocabulary("ru")
        assert await store.vocabulary("zz") == []
        assert await store.vocabulary("B") == ["bread", "brown"]
        everything = await store.vocabulary(limit=3)
        assert everything == sorted(everything)
        assert len(everything) == 3

    async def test_generation_changes_with_every_write(self, store: ChatStore) -> None:
        seen = [await store.generation()]
        await store.create_conversation(ConversationRecord(id="c"))
        seen.append(await store.generation())
        await store.append("c", None, [msg("c", "hi", id="m1")])
        seen.append(await store.generation())
        await store.add_tags("c", ["x"])
        seen.append(await store.generation())
        await store.put_vectors(MODEL, {"m1": unit(1)})
        seen.append(await store.generation())
        await store.delete_conversation("c")
        seen.append(await store.generation())
        assert len(set(seen)) == len(seen)
        await store.search_text("hi")
        assert await store.generation() == seen[-1]

    async def test_vectors_search_filter_and_backfill(self, store: ChatStore) -> None:
        await _corpus(store)
        assert await store.vector_search(MODEL, unit(1)) == []
        pending = await store.messages_without_vectors(MODEL)
        assert [m.id for m in pending] == ["w1", "w2", "w3", "h1", "h2"]
        ids = [m.id for m in pending]
        await store.put_vectors(MODEL, {i: unit(n) for n, i in enumerate(ids)})
        assert await store.messages_without_vectors(MODEL) == []
        assert [m.id for m in await store.messages_without_vectors("other")][:1] == ["w1"]
        hits = await store.vector_search(MODEL, unit(3), k=3)
        assert hits[0].id == "h1"
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        filtered = await store.vector_search(MODEL, unit(3), 5, HistoryFilter(session="work"))
        assert {h.id for h in filtered} == {"w1", "w2", "w3"}
        await store.put_vectors(MODEL, {"w1": unit(3) * 2})
        assert (await store.vector_search(MODEL, unit(3), 2))[1].id in {"w1", "h1"}
        with pytest.raises(InvalidChatDataError, match="8-d"):
            await store.put_vectors(MODEL, {"w1": unit(1, dims=4)})
        with pytest.raises(InvalidChatDataError, match="8-d"):
            await store.vector_search(MODEL, unit(1, dims=4))
        with pytest.raises(MessageNotFoundError, match="ghost"):
            await store.put_vectors(MODEL, {"w1": unit(1), "ghost": unit(2)})
        await store.delete_conversation("h")
        assert {h.id for h in await store.vector_search(MODEL, unit(3), 10)} == {"w1", "w2", "w3"}

    async def test_vectors_written_by_another_instance_are_found(
        self, store: ChatStore, store_factory: object
    ) -> None:
        await _corpus(store)
        await store.put_vectors(MODEL, {"w1": unit(1)})
        assert [h.id for h in await store.vector_search(MODEL, unit(2))] == ["w1"]
        async with store_factory() as other:  # type: ignore[operator]
            await other.put_vectors(MODEL, {"h1": unit(2)})
            await other.delete_conversation("w")
        assert [h.id for h in await store.vector_search(MODEL, unit(2))] == ["h1"]
