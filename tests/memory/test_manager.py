"""MemoryManager through its public API, on the real SQLite store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from fluent_ai import FluentAI, ScriptedModel
from fluent_ai.errors import InvalidParameterError
from fluent_ai.memory.errors import InvalidMemoryError, MemoryNotFoundError
from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.stores.sqlite import SqliteMemoryStore
from fluent_ai.memory.types import MemoryKind, utc_now
from tests.memory.words import WordsEmbedder


@pytest.fixture
async def memory(tmp_path: Path) -> AsyncIterator[MemoryManager]:
    async with MemoryManager(SqliteMemoryStore(tmp_path / "memory.db"), WordsEmbedder()) as manager:
        yield manager


async def test_remember_and_recall_ranks_by_meaning_and_words(memory: MemoryManager) -> None:
    await memory.remember("Ann drinks green tea every morning", importance=0.6)
    await memory.remember("The build uses the rust compiler", kind="procedural")
    await memory.remember("Ann's cat is called Miso")
    hits = await memory.recall("what tea does Ann drink", k=2)
    assert hits[0].memory.content == "Ann drinks green tea every morning"
    assert len(hits) == 2
    assert hits[0].score >= hits[1].score
    assert hits[0].parts is None


async def test_explain_gives_every_component(memory: MemoryManager) -> None:
    await memory.remember("green tea in the morning")
    [hit] = await memory.recall("green tea", k=1, explain=True)
    assert hit.parts is not None
    parts = hit.as_dict()["explain"]
    assert parts["vector_rank"] == 1
    assert parts["text_rank"] == 1
    assert parts["relevance"] == pytest.approx(1.0)
    assert parts["score"] == pytest.approx(hit.score)
    assert set(parts) >= {"vector_similarity", "text_score", "importance", "recency", "frequency"}


async def test_recall_counts_accesses_and_honours_filters(memory: MemoryManager) -> None:
    tea = await memory.remember("tea facts", metadata={"user": "ann"})
    await memory.remember("tea facts too", metadata={"user": "bob"}, kind="episodic")
    hits = await memory.recall("tea", filters={"user": "ann"})
    assert [h.memory.id for h in hits] == [tea.id]
    assert (await memory.get(tea.id)).access_count == 1
    episodic = await memory.recall("tea", kinds=["episodic"])
    assert [h.memory.kind for h in episodic] == [MemoryKind.EPISODIC]
    assert await memory.recall("tea", min_score=1.0) == []


async def test_bad_arguments_are_clear_errors(memory: MemoryManager) -> None:
    with pytest.raises(InvalidParameterError, match="query"):
        await memory.recall("   ")
    with pytest.raises(InvalidParameterError, match="k"):
        await memory.recall("tea", k=0)
    with pytest.raises(InvalidParameterError, match="min_score"):
        await memory.recall("tea", min_score=2)
    with pytest.raises(ValueError, match="importance"):
        await memory.remember("x", importance=3)
    with pytest.raises(InvalidParameterError, match="cannot change id"):
        await memory.update("nope", id="x")
    with pytest.raises(MemoryNotFoundError):
        await memory.get("0123")
    with pytest.raises(InvalidParameterError, match="namespace"):
        MemoryManager(memory.store, WordsEmbedder(), namespace="no spaces allowed")


async def test_remember_many_is_one_transaction(memory: MemoryManager) -> None:
    first = await memory.remember("kept")
    with pytest.raises(ValueError, match="content"):
        await memory.remember_many(["fine", ""])
    dup = first.model_copy(update={"embedding": None})
    with pytest.raises(Exception, match="already exists"):
        await memory.remember_many(["also fine", dup])
    assert [m.content for m in await memory.list()] == ["kept"]


async def test_update_re_embeds_new_content_and_forget_deletes(memory: MemoryManager) -> None:
    note = await memory.remember("old words here")
    updated = await memory.update(note.id, content="tea ceremony", importance=0.9)
    assert updated.importance == 0.9
    assert (await memory.recall("tea ceremony", k=1))[0].memory.id == note.id
    assert await memory.forget(note.id) == 1
    assert await memory.forget(note.id) == 0


async def test_expiring_working_memory_is_compacted(memory: MemoryManager) -> None:
    await memory.remember("scratch", kind="working", expires_in=timedelta(seconds=-1))
    await memory.remember("keep")
    with pytest.raises(InvalidParameterError, match="not both"):
        await memory.remember("x", expires_in=timedelta(1), expires_at=utc_now())
    report = await memory.compact()
    assert report.expired_deleted == 1
    assert [m.content for m in await memory.list()] == ["keep"]


async def test_relations_walk_several_hops(memory: MemoryManager) -> None:
    a, b, c, d = await memory.remember_many(["a fact", "b fact", "c fact", "d fact"])
    await memory.relate(a.id, b.id, "supports")
    await memory.relate(b.id, c.id, "follows")
    await memory.relate(c.id, d.id, "follows")
    one = await memory.related(a.id)
    assert [(r.memory.id, r.hops) for r in one] == [(b.id, 1)]
    two = await memory.related(a.id, hops=2)
    assert [(r.memory.id, r.hops) for r in two] == [(b.id, 1), (c.id, 2)]
    assert two[1].via.type == "follows"
    only_support = await memory.related(a.id, hops=3, types=["supports"])
    assert [r.memory.id for r in only_support] == [b.id]
    with pytest.raises(MemoryNotFoundError):
        await memory.relate(a.id, "ffff", "x")


async def test_consolidate_merges_near_duplicates_keeping_provenance(
    memory: MemoryManager,
) -> None:
    low = await memory.remember("Ann likes green tea", importance=0.3)
    high = await memory.remember("Ann likes green tea!", importance=0.8, metadata={"src": "chat"})
    other = await memory.remember("The server runs on port 8080")
    same_text_other_kind = await memory.remember("Ann likes green tea", kind="episodic")
    await memory.relate(other.id, low.id, "mentions")
    report = await memory.consolidate(threshold=0.95)
    assert report.merged == {high.id: [low.id]}
    survivor = await memory.get(high.id)
    assert survivor.importance == 0.8
    assert survivor.derived_from == [low.id]
    assert survivor.metadata == {"src": "chat"}
    with pytest.raises(MemoryNotFoundError):
        await memory.get(low.id)
    assert [r.target_id for r in await memory.store.relations(other.id)] == [high.id]
    assert (await memory.get(same_text_other_kind.id)).kind is MemoryKind.EPISODIC
    again = await memory.consolidate(threshold=0.95)
    assert again.merged == {}


async def test_consolidate_summarises_old_episodes_with_a_model(memory: MemoryManager) -> None:
    old = utc_now() - timedelta(days=30)
    episodes = await memory.remember_many(
        [
            memory.draft("Ann said she moved to Lisbon", kind="episodic").model_copy(
                update={"created_at": old}
            ),
            memory.draft("Ann asked about Lisbon trams", kind="episodic").model_copy(
                update={"created_at": old}
            ),
        ]
    )
    model = ScriptedModel("Ann lives in Lisbon.")
    agent = FluentAI.agent().model(model).build()
    report = await memory.consolidate(summariser=agent, summarise_older_than=timedelta(days=7))
    [(fact_id, sources)] = report.summaries.items()
    assert sorted(sources) == sorted(e.id for e in episodes)
    fact = await memory.get(fact_id)
    assert fact.kind is MemoryKind.SEMANTIC
    assert fact.content == "Ann lives in Lisbon."
    assert fact.derived_from == sources
    assert "Lisbon trams" in str(model.requests[0].messages[-1].content)
    marked = await memory.get(episodes[0].id)
    assert marked.metadata["summarised_into"] == fact_id
    assert marked.importance == 0.25
    second = await memory.consolidate(summariser=agent, summarise_older_than=timedelta(days=7))
    assert second.summaries == {}, "episodes are summarised once"
    with pytest.raises(InvalidParameterError, match="summariser"):
        await memory.consolidate(summarise_older_than=timedelta(days=1))


async def test_export_import_export_is_identical(memory: MemoryManager, tmp_path: Path) -> None:
    a, b = await memory.remember_many(["first fact", "second fact"])
    await memory.remember("scratch", kind="working", expires_in=timedelta(hours=1))
    await memory.relate(a.id, b.id, "supports", {"why": "test"})
    await memory.recall("first")
    first = tmp_path / "one.jsonl"
    assert await memory.export(first) == 3
    embedder = WordsEmbedder()
    async with MemoryManager(SqliteMemoryStore(tmp_path / "copy.db"), embedder) as copy:
        assert await copy.import_(first) == 3
        assert embedder.embedded == [], "vectors come from the file"
        second = tmp_path / "two.jsonl"
        await copy.export(second)
    assert first.read_bytes() == second.read_bytes()
    header = json.loads(first.read_text().splitlines()[0])
    assert header["embedding"] == {"model": "test:words", "dimensions": 64}


async def test_a_bad_import_changes_nothing_and_names_the_line(
    memory: MemoryManager, tmp_path: Path
) -> None:
    await memory.remember("already here")
    good = tmp_path / "good.jsonl"
    await memory.export(good)
    lines = good.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines, '{"memory": {"content": ""}}']) + "\n")
    async with MemoryManager(SqliteMemoryStore(tmp_path / "other.db"), WordsEmbedder()) as other:
        with pytest.raises(InvalidMemoryError, match=r"broken.jsonl:3:"):
            await other.import_(broken)
        assert await other.list() == []
        not_json = tmp_path / "x.jsonl"
        not_json.write_text("hello\n")
        with pytest.raises(InvalidMemoryError, match="not JSON"):
            await other.import_(not_json)
        with pytest.raises(InvalidMemoryError, match="no such file"):
            await other.import_(tmp_path / "missing.jsonl")
    async with MemoryManager(
        SqliteMemoryStore(tmp_path / "third.db"), WordsEmbedder("test:other-model")
    ) as mismatched:
        with pytest.raises(InvalidMemoryError, match="test:words"):
            await mismatched.import_(good)


def test_the_sync_twins_work_from_plain_code(tmp_path: Path) -> None:
    manager = MemoryManager(SqliteMemoryStore(tmp_path / "sync.db"), WordsEmbedder())
    saved = manager.remember_sync("sync tea")
    assert manager.recall_sync("tea")[0].memory.id == saved.id
    other = manager.remember_many_sync(["sync coffee"])[0]
    assert manager.update_sync(other.id, importance=0.9).importance == 0.9
    assert manager.relate_sync(saved.id, other.id, "near").type == "near"
    assert [r.memory.id for r in manager.related_sync(saved.id)] == [other.id]
    assert manager.get_sync(other.id).content == "sync coffee"
    assert manager.export_sync(tmp_path / "sync.jsonl") == 2
    assert manager.stats_sync().memories == 2
    assert manager.consolidate_sync(threshold=0.99).merged == {}
    assert manager.compact_sync().expired_deleted == 0
    assert manager.forget_sync(saved.id) == 1
    assert [m.id for m in manager.list_sync()] == [other.id]
    manager.close_sync()
