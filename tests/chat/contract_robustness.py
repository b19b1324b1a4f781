"""Contract cases about robustness: other processes, concurrent writers, bad input.

Mixed into :class:`tests.chat.contract.ChatStoreContract` (which provides ``store`` and
``store_factory``).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from datetime import datetime
from typing import Any

import pytest

from fluent_ai.chat.store import (
    ChatStore,
    ChatStoreClosedError,
    InvalidChatDataError,
)
from fluent_ai.chat.types import ConversationRecord, HistoryFilter
from tests.chat.contract_support import StoreFactory, appender, creator, msg

_SPAWN = multiprocessing.get_context("spawn")


async def _join(process: Any) -> None:
    """Wait (60 s at most) for a child without blocking the event loop; kill it if it hangs."""
    await asyncio.to_thread(process.join, 60)
    if process.is_alive():
        process.kill()
        await asyncio.to_thread(process.join, 5)
        pytest.fail("a child process hung")
    assert process.exitcode == 0


class RobustnessContract:
    async def test_another_process_write_changes_the_generation(
        self, store: ChatStore, store_factory: StoreFactory
    ) -> None:
        before = await store.generation()
        child = _SPAWN.Process(target=creator, args=(store_factory, 1))
        child.start()
        await _join(child)
        assert await store.generation() != before
        assert [m.text for m in await store.path("child1")] == ["from child 1"]
        assert {h.id for h in await store.search_text("child")} == {
            m.id for m in await store.path("child1")
        }

    async def test_concurrent_writers_build_one_linear_history(
        self, store: ChatStore, store_factory: StoreFactory
    ) -> None:
        await store.create_conversation(ConversationRecord(id="shared"))
        workers, count = 3, 15
        children = [
            _SPAWN.Process(target=appender, args=(store_factory, "shared", worker, count))
            for worker in range(workers)
        ]
        for child in children:
            child.start()
        for child in children:
            await _join(child)
        path = await store.path("shared")
        assert len(path) == workers * count
        assert len({m.parent_id for m in path}) == len(path)
        assert path[0].parent_id is None
        for parent, child_message in itertools.pairwise(path):
            assert child_message.parent_id == parent.id
        for worker in range(workers):
            mine = [int(m.id.split("-")[1]) for m in path if m.id.startswith(f"w{worker}-")]
            assert mine == list(range(count))
        assert await store.count_messages(HistoryFilter(conversation_id="shared")) == 45

    async def test_bad_input_is_refused_clearly(self, store: ChatStore) -> None:
        await store.create_conversation(ConversationRecord(id="c"))
        bad_calls: list[Any] = [
            store.get_conversation(42),  # type: ignore[arg-type]
            store.get_conversation("has space"),
            store.get_conversation("x" * 500),
            store.create_conversation({"id": "d"}),  # type: ignore[arg-type]
            store.append("c", None, msg("c", "not a list")),  # type: ignore[arg-type]
            store.append("c", None, ["text"]),  # type: ignore[list-item]
            store.append("c", None, [msg("other", "wrong conversation")]),
            store.append("c", "bad name!", [msg("c", "x")]),
            store.get_messages("m1"),
            store.get_messages([1, 2]),  # type: ignore[list-item]
            store.list_conversations(limit=0),
            store.list_conversations(limit=10**9),
            store.list_conversations(offset=-1),
            store.list_conversations(since=datetime(2025, 1, 1)),
            store.search_text(42),  # type: ignore[arg-type]
            store.search_text("x" * 20_000),
            store.search_text("a\x00b"),
            store.search_text("fox", {"session": "x"}),  # type: ignore[arg-type]
            store.search_text("fox", limit=True),
            store.add_tags("c", ["has space"]),
            store.add_tags("c", "tag"),
            store.vocabulary(None),  # type: ignore[arg-type]
            store.put_vectors("m", {"c": [float("nan"), 1.0]}),
            store.put_vectors("m", {"c": [0.0, 0.0]}),
            store.put_vectors("m", {"a": [1.0, 2.0], "b": [1.0]}),
            store.put_vectors("", {"c": [1.0]}),
            store.vector_search("m", [[1.0, 2.0]]),  # type: ignore[list-item]
            store.vector_search("m", ["x"]),  # type: ignore[list-item]
            store.vector_search("m", [1.0], k=0),
            store.import_conversation(ConversationRecord(id="e"), [], []),
        ]
        for call in bad_calls:
            with pytest.raises(InvalidChatDataError):
                await call
        assert await store.count_messages() == 0

    async def test_a_closed_store_refuses_calls(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        with pytest.raises(ChatStoreClosedError):
            await store.generation()
        async with store:
            await store.open()
        await store.close()
        with pytest.raises(ChatStoreClosedError):
            await store.list_conversations()
