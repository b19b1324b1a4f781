"""The history search cases, run unchanged on each backend (``test_search*.py``).

A small labelled corpus: three conversations in two sessions, with phrases, boolean
conditions, distances, prefixes and typos that each pick out known messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from fluent_ai.chat.query import QuerySyntaxError
from fluent_ai.chat.search import HistorySearch
from fluent_ai.chat.store import ChatStore
from fluent_ai.chat.types import ConversationRecord, HistoryFilter
from fluent_ai.errors import ConfigurationError, InvalidParameterError
from fluent_ai.types import Role
from tests.chat.contract_support import T0, StoreFactory, msg
from tests.memory.words import WordsEmbedder

GPT = "openai:gpt-4o"


async def corpus(store: ChatStore) -> None:
    await store.create_conversation(
        ConversationRecord(id="trip", title="Lisbon trip", session="travel", tags=["lisbon"])
    )
    await store.create_conversation(
        ConversationRecord(id="code", title="Python help", session="work", tags=["python"])
    )
    await store.create_conversation(ConversationRecord(id="cafe", session="travel"))
    await store.append(
        "trip",
        None,
        [
            msg("trip", "We drank green tea in Lisbon by the river", id="t1", n=1),
            msg(
                "trip",
                "Lisbon has lovely tea houses; green tea is common there",
                id="t2",
                n=2,
                role="assistant",
                model=GPT,
            ),
            msg("trip", "the tram ride in lisbon was fun", id="t3", n=3),
        ],
    )
    await store.append(
        "code",
        None,
        [
            msg("code", "how do I parse JSON in python quickly", id="c1", n=10),
            msg(
                "code",
                "use the json module: json.loads parses a JSON string",
                id="c2",
                n=11,
                role="assistant",
                model="local",
            ),
            msg("code", "my database connection keeps timing out", id="c3", n=12),
        ],
    )
    await store.append(
        "cafe",
        None,
        [
            msg("cafe", "black tea without milk please, not green", id="k1", n=20),
            msg(
                "cafe",
                "tea was served late; after many long hours of walking we finally reached lisbon",
                id="k2",
                n=21,
                role="assistant",
                model=GPT,
            ),
            msg("cafe", "a cup of coffee in Porto", id="k3", n=22),
        ],
    )


async def ids(search: HistorySearch, query: str, **options: object) -> list[str]:
    page = await search.search(query, **options)  # type: ignore[arg-type]
    return [hit.message.id for hit in page.hits]


class SearchCases:
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError

    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> AsyncIterator[ChatStore]:
        async with store_factory() as opened:
            await corpus(opened)
            yield opened

    @pytest.fixture
    def search(self, store: ChatStore) -> HistorySearch:
        return HistorySearch(store)

    async def test_phrases_boolean_and_near_pick_the_labelled_messages(
        self, search: HistorySearch
    ) -> None:
        cases = {
            '"green tea"': {"t1", "t2"},
            "tea lisbon": {"t1", "t2", "k2"},
            "tea AND lisbon": {"t1", "t2", "k2"},
            "tea NOT green": {"k2"},
            "tea -green": {"k2"},
            "(coffee OR tram) lisbon": {"t3"},
            "tea OR coffee": {"t1", "t2", "k1", "k2", "k3"},
            "NEAR/3(tea lisbon)": {"t1", "t2"},
            "tea NEAR/3 lisbon": {"t1", "t2"},
            '"tram ride" -coffee': {"t3"},
        }
        for query, expected in cases.items():
            assert set(await ids(search, query)) == expected, query

    async def test_a_question_in_full_words_falls_back_to_any_word(
        self, search: HistorySearch
    ) -> None:
        assert set(await ids(search, "tea lisbon")) == {"t1", "t2", "k2"}, "all words: AND"
        found = await ids(search, "where did we drink green tea in lisbon")
        assert found, "no message has every word, so messages with some of them answer"
        assert found[0] in {"t1", "t2"}
        assert await ids(search, '"where did we" lisbon') == [], "not plain words: exact"

    async def test_prefix_and_fuzzy_words(self, search: HistorySearch) -> None:
        assert set(await ids(search, "pars*")) == {"c1", "c2"}
        assert set(await ids(search, "tra*")) == {"t3"}
        assert set(await ids(search, "pyhton~")) == {"c1"}
        assert set(await ids(search, "lsibon~ tram")) == {"t3"}
        assert set(await ids(search, "lisbn~ -tea")) == {"t3"}
        assert set(await ids(search, "mlik~ OR porto")) == {"k1", "k3"}
        assert await ids(search, "zzzqqq~") == []
        assert await ids(search, "zzzqqq~ OR porto") == ["k3"]

    async def test_filters(self, search: HistorySearch) -> None:
        cases = [
            (HistoryFilter(session="travel"), {"t1", "t2", "k1", "k2"}),
            (HistoryFilter(roles=frozenset({Role.ASSISTANT})), {"t2", "k2"}),
            (HistoryFilter(model=GPT), {"t2", "k2"}),
            (HistoryFilter(tags=frozenset({"lisbon"})), {"t1", "t2"}),
            (HistoryFilter(conversation_id="cafe"), {"k1", "k2"}),
            (HistoryFilter(since=T0 + timedelta(minutes=2)), {"t2", "k1", "k2"}),
            (HistoryFilter(until=T0 + timedelta(minutes=2)), {"t1"}),
            (HistoryFilter(session="work"), set()),
        ]
        for spec, expected in cases:
            assert set(await ids(search, "tea", filter=spec)) == expected, spec

    async def test_ranking_order_and_hit_contents(self, search: HistorySearch) -> None:
        assert await ids(search, "json") == ["c2", "c1"]
        assert (await ids(search, "database connection"))[:1] == ["c3"]
        page = await search.search('"green tea"')
        assert [hit.rank for hit in page.hits] == [1, 2]
        assert [hit.score for hit in page.hits] == sorted(
            (hit.score for hit in page.hits), reverse=True
        )
        hit = next(h for h in page.hits if h.message.id == "t1")
        assert hit.conversation.title == "Lisbon trip"
        assert hit.conversation.session == "travel"
        assert hit.conversation.tags == ["lisbon"]
        assert "[green tea]" in hit.snippet
        assert "<mark>green tea</mark>" in hit.snippet_html
        assert hit.parts.text_rank is not None
        assert hit.parts.vector_rank is None
        assert hit.parts.fused is None
        assert not page.semantic
        data = hit.as_dict()
        assert data["conversation_id"] == "trip"
        assert data["message_id"] == "t1"
        assert data["role"] == "user"
        assert data["text"] == hit.message.text

    async def test_pagination_and_streaming_follow_one_order(self, search: HistorySearch) -> None:
        everything = await ids(search, "tea OR lisbon OR json", limit=100)
        assert len(everything) == 7
        pages: list[str] = []
        for offset in range(0, 10, 3):
            page = await search.search("tea OR lisbon OR json", limit=3, offset=offset)
            pages += [hit.message.id for hit in page.hits]
            assert page.has_more == (offset + 3 < 7)
        assert pages == everything
        streamed = [
            hit.message.id
            async for hit in search.stream("tea OR lisbon OR json", page_size=2, limit=100)
        ]
        assert streamed == everything
        ranks = [
            hit.rank async for hit in search.stream("tea OR lisbon OR json", limit=5, offset=2)
        ]
        assert ranks == [3, 4, 5, 6, 7]

    async def test_cache_serves_until_any_store_writes(
        self, search: HistorySearch, store_factory: StoreFactory
    ) -> None:
        first = await search.search("porto")
        assert await search.search("porto") is first
        assert await search.search("porto", limit=5) is not first
        async with store_factory() as other:
            await other.append("cafe", None, [msg("cafe", "Porto again", id="k4", n=30)])
        fresh = await search.search("porto")
        assert fresh is not first
        assert {hit.message.id for hit in fresh.hits} == {"k3", "k4"}
        assert fresh.generation != first.generation

    async def test_semantic_fusion_respects_the_query(self, store: ChatStore) -> None:
        embedder = WordsEmbedder()
        search = HistorySearch(store, embedder, min_similarity=0.25)
        assert (await search.search("tram")).semantic is False  # no vectors yet
        assert await search.backfill_vectors(batch=4) == 9
        assert await search.backfill_vectors() == 0
        page = await search.search("tram")
        assert page.semantic
        # Plain words no message holds together: messages with some of them answer,
        # the one with most words first; similarity adds the close ones.
        words_only = await ids(search, "lisbon tram coffee", semantic=False)
        assert words_only[0] == "t3"  # lisbon + tram
        assert "k3" in words_only  # coffee
        found = [hit.message.id for hit in (await search.search("lisbon tram coffee")).hits]
        assert {"t3", "k3"} <= set(found)
        # A NOT, a phrase or NEAR is never broken by similarity.
        for query in ("lisbon NOT tea", '"tram ride"', "NEAR/3(tea lisbon)"):
            expected = set(await ids(search, query, semantic=False))
            assert set(await ids(search, query)) == expected, query
        fused = await search.search("green tea")
        top = fused.hits[0]
        assert top.parts.text_rank is not None
        assert top.parts.vector_rank is not None
        assert top.parts.fused == top.score
        assert 0 < top.score <= 1
        assert [h.score for h in fused.hits] == sorted((h.score for h in fused.hits), reverse=True)
        pages = [
            hit.message.id
            async for hit in search.stream("lisbon tram coffee", page_size=1, limit=50)
        ]
        assert pages == await ids(search, "lisbon tram coffee", limit=50)

    async def test_malformed_query_points_at_the_position(self, search: HistorySearch) -> None:
        with pytest.raises(QuerySyntaxError) as caught:
            await search.search("tea AND (lisbon OR")
        assert caught.value.column == 19
        assert "^" in str(caught.value)
        with pytest.raises(QuerySyntaxError):
            _ = [hit async for hit in search.stream('"unclosed')]

    async def test_bad_arguments(self, store: ChatStore, search: HistorySearch) -> None:
        bad: list[dict[str, object]] = [
            {"limit": 0},
            {"limit": 10_001},
            {"limit": True},
            {"offset": -1},
            {"filter": {"session": "x"}},
            {"semantic": "yes"},
        ]
        for options in bad:
            with pytest.raises(InvalidParameterError):
                await search.search("tea", **options)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError):
            await search.search(42)  # type: ignore[arg-type]
        with pytest.raises(QuerySyntaxError):
            await search.search("x" * 5_000)
        with pytest.raises(ConfigurationError, match="embedder"):
            await search.search("tea", semantic=True)
        with pytest.raises(ConfigurationError, match="embedder"):
            await search.backfill_vectors()
        with pytest.raises(InvalidParameterError):
            HistorySearch("store")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError):
            HistorySearch(store, rrf_k=0)
