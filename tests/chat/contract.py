"""The chat store contract: every backend passes these tests unchanged.

A backend's test module subclasses :class:`ChatStoreContract` and provides one fixture,
``store_factory``: a picklable zero-argument callable that returns a new, unopened store
on one shared, initially empty location (child processes call it too). Native queries
are written per dialect by the helpers in ``contract_support``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from fluent_ai.chat.store import (
    BranchExistsError,
    BranchInUseError,
    BranchNotFoundError,
    ChatStore,
    ConversationExistsError,
    ConversationNotFoundError,
    DuplicateMessageError,
    MessageNotFoundError,
)
from fluent_ai.chat.types import MAIN_BRANCH, ChatMessage, ConversationRecord
from fluent_ai.types import ImagePart, Message, Reasoning, Role, TextPart, ToolCall
from tests.chat.contract_robustness import RobustnessContract
from tests.chat.contract_search import SearchContract
from tests.chat.contract_support import T0, StoreFactory, msg


class ChatStoreContract(SearchContract, RobustnessContract):
    """The behaviour every :class:`ChatStore` must have."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError("a backend's test module provides store_factory")

    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> AsyncIterator[ChatStore]:
        async with store_factory() as opened:
            yield opened

    # -- conversations ------------------------------------------------------------------

    async def test_conversation_round_trip_update_and_delete(self, store: ChatStore) -> None:
        record = ConversationRecord(
            id="c1",
            title="Tea — ☕ notes",
            session="work",
            tags=["Tea", "notes"],
            agent="helper",
            model="openai:gpt-4o-mini",
            created_at=T0,
            updated_at=T0,
            metadata={"a": [1, 2.5, None], "b": {"c": True}},
        )
        assert await store.create_conversation(record) == record
        assert await store.get_conversation("c1") == record
        assert [b.name for b in await store.list_branches("c1")] == [MAIN_BRANCH]
        with pytest.raises(ConversationExistsError, match="c1"):
            await store.create_conversation(ConversationRecord(id="c1"))
        changed = record.model_copy(update={"title": "renamed", "session": None, "tags": ["x"]})
        stored = await store.update_conversation(changed)
        assert (stored.title, stored.session, stored.tags) == ("renamed", None, ["x"])
        assert stored.created_at == T0
        assert stored.updated_at > T0
        assert await store.get_conversation("c1") == stored
        with pytest.raises(BranchNotFoundError, match="nope"):
            await store.update_conversation(stored.model_copy(update={"current_branch": "nope"}))
        await store.append("c1", None, [msg("c1", "hello")])
        assert await store.delete_conversation("c1") is True
        assert await store.delete_conversation("c1") is False
        with pytest.raises(ConversationNotFoundError, match="c1"):
            await store.get_conversation("c1")
        assert await store.count_messages() == 0

    async def test_list_filters_and_orders_newest_first(self, store: ChatStore) -> None:
        for n in range(6):
            await store.create_conversation(
                ConversationRecord(
                    id=f"c{n}",
                    session="even" if n % 2 == 0 else "odd",
                    tags=["big"] if n >= 3 else [],
                    created_at=T0,
                    updated_at=T0 + timedelta(days=n),
                )
            )
        listed = await store.list_conversations()
        assert [c.id for c in listed] == ["c5", "c4", "c3", "c2", "c1", "c0"]
        page = await store.list_conversations(limit=2, offset=2)
        assert [c.id for c in page] == ["c3", "c2"]
        assert [c.id for c in await store.list_conversations(session="even")] == ["c4", "c2", "c0"]
        assert [c.id for c in await store.list_conversations(tag="BIG")] == ["c5", "c4", "c3"]
        window = await store.list_conversations(
            since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)
        )
        assert [c.id for c in window] == ["c2", "c1"]
        last = await store.last_conversation()
        assert last is not None
        assert last.id == "c5"
        await store.append("c1", None, [msg("c1", "back to this one")])
        last = await store.last_conversation()
        assert last is not None
        assert last.id == "c1"
        odd_last = await store.last_conversation("odd")
        assert odd_last is not None
        assert odd_last.id == "c1"
        assert await store.last_conversation("nobody") is None

    async def test_sessions_and_tags_with_counts(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="a", session="s1", tags=["x"]))
        await store.create_conversation(ConversationRecord(id="b", session="s1"))
        await store.create_conversation(ConversationRecord(id="c", session="s2", tags=["x", "y"]))
        await store.create_conversation(ConversationRecord(id="d"))
        await store.append("a", None, [msg("a", "one", id="a1"), msg("a", "two", id="a2")])
        await store.append("c", None, [msg("c", "three", id="c1")])
        summary = {s.session: (s.conversations, s.messages) for s in await store.sessions()}
        assert summary == {"s1": (2, 2), "s2": (1, 1)}
        assert [(t.tag, t.conversations) for t in await store.tags()] == [("x", 2), ("y", 1)]
        tagged = await store.add_tags("d", ["New", "x", "new"])
        assert tagged.tags == ["new", "x"]
        assert (await store.remove_tags("c", ["x", "absent"])).tags == ["y"]
        assert [(t.tag, t.conversations) for t in await store.tags()] == [
            ("x", 2),
            ("new", 1),
            ("y", 1),
        ]
        with pytest.raises(ConversationNotFoundError):
            await store.add_tags("ghost", ["x"])

    # -- messages -----------------------------------------------------------------------

    async def test_append_chains_messages_and_round_trips_every_field(
        self, store: ChatStore
    ) -> None:
        await store.create_conversation(ConversationRecord(id="c", updated_at=T0, created_at=T0))
        rich = ChatMessage(
            id="rich",
            conversation_id="c",
            message=Message(
                Role.ASSISTANT,
                (TextPart("look: "), ImagePart("https://example.com/a.png", detail="high")),
                tool_calls=(ToolCall("call-1", "lookup", '{"q": "tea"}'),),
                reasoning=(Reasoning(text="thinking", signature="sig", provider="anthropic"),),
            ),
            model="anthropic:claude",
            input_tokens=12,
            output_tokens=34,
            cost_usd=0.00125,
            created_at=T0 + timedelta(microseconds=123457),
            metadata={"latency_ms": 812, "nested": {"ok": True}},
        )
        stored = await store.append("c", MAIN_BRANCH, [msg("c", "question", id="q"), rich])
        assert [m.parent_id for m in stored] == [None, "q"]
        got = await store.get_messages(["rich", "missing", "q"])
        assert [m.id for m in got] == ["rich", "q"]
        assert got[0] == rich.model_copy(update={"parent_id": "q"})
        assert got[0].text == "look: "
        more = await store.append("c", None, [msg("c", "follow-up", id="f")])
        assert more[0].parent_id == "rich"
        assert [m.id for m in await store.path("c")] == ["q", "rich", "f"]
        assert (await store.get_conversation("c")).updated_at > T0
        assert await store.append("c", None, []) == []
        with pytest.raises(ConversationNotFoundError):
            await store.append("ghost", None, [msg("ghost", "x")])
        with pytest.raises(BranchNotFoundError, match="nope"):
            await store.append("c", "nope", [msg("c", "x")])

    async def test_a_failed_turn_keeps_the_question_and_the_error(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c"))
        failed = ChatMessage(
            id="a1",
            conversation_id="c",
            message=Message.assistant(""),
            model="openai:gpt-4o",
            status="failed",
            error="RateLimitError: slow down",
        )
        await store.append("c", None, [msg("c", "will this fail?", id="u1"), failed])
        path = await store.path("c")
        assert [(m.id, m.status, m.error) for m in path] == [
            ("u1", "complete", None),
            ("a1", "failed", "RateLimitError: slow down"),
        ]
        assert path[1].text == ""

    async def test_a_failing_batch_stores_nothing(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c"))
        await store.append("c", None, [msg("c", "kept", id="m1")])
        generation = await store.generation()
        with pytest.raises(DuplicateMessageError, match="m1"):
            await store.append(
                "c", None, [msg("c", "unique kiwi", id="m2"), msg("c", "x", id="m1")]
            )
        with pytest.raises(DuplicateMessageError, match="m3"):
            await store.append(
                "c", None, [msg("c", "unique kiwi", id="m3"), msg("c", "y", id="m3")]
            )
        assert [m.id for m in await store.path("c")] == ["m1"]
        assert await store.get_messages(["m2", "m3"]) == []
        assert await store.count_messages() == 1
        assert await store.generation() == generation

    # -- branches -----------------------------------------------------------------------

    async def test_fork_switch_path_and_delete_branch(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c"))
        await store.append("c", None, [msg("c", f"line {n}", id=f"m{n}") for n in range(4)])
        side = await store.fork("c", "m1", "side")
        assert (side.name, side.head_id, side.forked_from) == ("side", "m1", "m1")
        await store.append("c", "side", [msg("c", "other way", id="s1")])
        assert [m.id for m in await store.path("c", "side")] == ["m0", "m1", "s1"]
        assert [m.id for m in await store.path("c")] == ["m0", "m1", "m2", "m3"]
        switched = await store.switch_branch("c", "side")
        assert switched.current_branch == "side"
        await store.append("c", None, [msg("c", "more", id="s2")])
        assert [m.id for m in await store.path("c")] == ["m0", "m1", "s1", "s2"]
        branches = {b.name: b.head_id for b in await store.list_branches("c")}
        assert branches == {"main": "m3", "side": "s2"}
        await store.fork("c", "s1", "deep")
        with pytest.raises(BranchExistsError, match="side"):
            await store.fork("c", "m0", "side")
        with pytest.raises(MessageNotFoundError, match="ghost"):
            await store.fork("c", "ghost", "x")
        with pytest.raises(BranchInUseError, match="side"):
            await store.delete_branch("c", "side")
        with pytest.raises(BranchNotFoundError):
            await store.switch_branch("c", "nope")
        await store.switch_branch("c", MAIN_BRANCH)
        # "deep" still reaches s1, so deleting "side" only drops s2.
        assert await store.delete_branch("c", "side") == 1
        assert [m.id for m in await store.get_messages(["s1", "s2"])] == ["s1"]
        assert await store.delete_branch("c", "deep") == 1
        assert await store.count_messages() == 4
        with pytest.raises(BranchNotFoundError):
            await store.delete_branch("c", "deep")

    async def test_fork_at_another_conversations_message_is_refused(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="a"))
        await store.create_conversation(ConversationRecord(id="b"))
        await store.append("a", None, [msg("a", "in a", id="ma")])
        with pytest.raises(MessageNotFoundError, match="ma"):
            await store.fork("b", "ma", "x")

    # -- export and import --------------------------------------------------------------

    async def test_export_import_is_lossless(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c", session="s", tags=["t"]))
        await store.append("c", None, [msg("c", f"line {n}", id=f"m{n}", n=n) for n in range(3)])
        await store.fork("c", "m0", "alt")
        await store.append("c", "alt", [msg("c", "alt line", id="a1", n=9)])
        await store.switch_branch("c", "alt")
        dump = await store.export_conversation("c")
        assert {m.id for m in dump.messages} == {"m0", "m1", "m2", "a1"}
        assert {b.name for b in dump.branches} == {"main", "alt"}
        with pytest.raises(ConversationExistsError):
            await store.import_conversation(dump.record, dump.branches, dump.messages)
        assert await store.delete_conversation("c")
        await store.import_conversation(dump.record, dump.branches, dump.messages[::-1])
        again = await store.export_conversation("c")
        assert again == dump
        assert [m.id for m in await store.path("c")] == ["m0", "a1"]

    async def test_import_with_a_taken_message_id_stores_nothing(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c"))
        await store.append("c", None, [msg("c", "taken", id="m0")])
        dump = await store.export_conversation("c")
        record = dump.record.model_copy(update={"id": "d"})
        branches = [b.model_copy(update={"conversation_id": "d"}) for b in dump.branches]
        messages = [m.model_copy(update={"conversation_id": "d"}) for m in dump.messages]
        with pytest.raises(DuplicateMessageError, match="m0"):
            await store.import_conversation(record, branches, messages)
        with pytest.raises(ConversationNotFoundError):
            await store.get_conversation("d")
