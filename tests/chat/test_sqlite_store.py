"""The chat store contract on SQLite, plus what only the SQLite store has (file, schema)."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.chat.store import ChatSchemaVersionError, ChatStoreError
from fluent_ai.chat.stores.sqlite import SqliteChatStore
from fluent_ai.chat.types import ConversationRecord, HistoryFilter
from tests.chat.contract import ChatStoreContract
from tests.chat.contract_support import StoreFactory, msg


class TestSqliteStore(ChatStoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return functools.partial(SqliteChatStore, tmp_path / "history.db")


async def test_default_file_is_under_fluent_ai_home(isolated_env: Path) -> None:
    async with SqliteChatStore() as store:
        await store.create_conversation(ConversationRecord(id="c"))
        assert store.location == str((isolated_env / "history.db").resolve())
        assert store.dialect == "sqlite"
    assert (isolated_env / "history.db").exists()


async def test_in_memory_database_works() -> None:
    async with SqliteChatStore(":memory:") as store:
        await store.create_conversation(ConversationRecord(id="c"))
        await store.append("c", None, [msg("c", "hello there")])
        assert len(await store.search_text("hello")) == 1


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    async with SqliteChatStore(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO chat_schema_version (version) VALUES (99)")
    with pytest.raises(ChatSchemaVersionError, match="99"):
        await SqliteChatStore(path).open()


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(ChatStoreError, match="not a usable chat history"):
        await SqliteChatStore(path).open()


async def test_fts_index_stays_consistent_through_deletes(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    async with SqliteChatStore(path) as store:
        for n in range(3):
            await store.create_conversation(ConversationRecord(id=f"c{n}"))
            await store.append(f"c{n}", None, [msg(f"c{n}", f"word{n} common") for _ in range(5)])
        await store.fork("c0", (await store.path("c0"))[1].id, "side")
        await store.append("c0", "side", [msg("c0", "side words")])
        await store.delete_branch("c0", "side")
        await store.delete_conversation("c1")
        assert {h.id for h in await store.search_text("common")} == {
            m.id for c in ("c0", "c2") for m in await store.path(c)
        }
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_filtered_search_uses_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    async with SqliteChatStore(path) as store:
        await store.create_conversation(ConversationRecord(id="c", session="s"))
        await store.append("c", None, [msg("c", "alpha beta")])
        assert await store.count_messages(HistoryFilter(session="s")) == 1
    with sqlite3.connect(path) as conn:
        plan = " ".join(
            row[3]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM messages AS m WHERE m.session = ?",
                ("s",),
            )
        )
        assert "messages_by_session" in plan


async def test_no_sqlite_call_blocks_the_event_loop(isolated_env: Path) -> None:
    with blockbuster_ctx("fluent_ai"):
        async with SqliteChatStore() as store:
            await store.create_conversation(ConversationRecord(id="c"))
            await store.append("c", None, [msg("c", "calm words")])
            assert len(await store.search_text("calm")) == 1
            await store.put_vectors("m", {(await store.path("c"))[0].id: [1.0, 0.0]})
            assert len(await store.vector_search("m", [1.0, 0.0])) == 1
