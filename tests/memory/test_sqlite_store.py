"""The store contract on SQLite, plus what only the SQLite store has (file, schema, log)."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from blockbuster import blockbuster_ctx

from fluent_ai.memory import (
    Memory,
    MemoryStoreError,
    SchemaVersionError,
    SqliteMemoryStore,
)
from fluent_ai.memory.stores import sqlite_vectors
from tests.memory.contract import MemoryStoreContract
from tests.memory.contract_processes import MODEL, StoreFactory, vector_for


class TestSqliteStore(MemoryStoreContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        return functools.partial(SqliteMemoryStore, tmp_path / "memory.db")


async def test_default_file_is_under_fluent_ai_home(isolated_env: Path) -> None:
    async with SqliteMemoryStore() as store:
        await store.add([Memory(content="hello")])
        assert store.path == str((isolated_env / "memory.db").resolve())
    assert (isolated_env / "memory.db").exists()


async def test_in_memory_database_works() -> None:
    async with SqliteMemoryStore(":memory:") as store:
        await store.add([Memory(id="a", content="hi", embedding=vector_for(1))], model=MODEL)
        assert [h.id for h in await store.vector_search("default", vector_for(1), 3)] == ["a"]
        assert (await store.stats()).size_bytes == 0


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    async with SqliteMemoryStore(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(SchemaVersionError, match="99"):
        await SqliteMemoryStore(path).open()


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(MemoryStoreError, match="not a usable memory store"):
        await SqliteMemoryStore(path).open()


async def test_a_pruned_change_log_makes_other_processes_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_vectors, "LOG_KEEP", 0)
    monkeypatch.setattr(sqlite_vectors.prune_log, "__defaults__", (0,))
    path = tmp_path / "memory.db"
    async with SqliteMemoryStore(path) as reader, SqliteMemoryStore(path) as writer:
        await writer.add([Memory(id="a", content="a", embedding=vector_for(1))], model=MODEL)
        assert [h.id for h in await reader.vector_search("default", vector_for(2), 5)] == ["a"]
        await writer.add([Memory(id="b", content="b", embedding=vector_for(2))], model=MODEL)
        await writer.delete(["a"])
        await writer.vacuum()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM vector_log").fetchone()[0] == 0
        assert [h.id for h in await reader.vector_search("default", vector_for(2), 5)] == ["b"]


async def test_fts_index_matches_the_table_after_updates(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    async with SqliteMemoryStore(path) as store:
        await store.add([Memory(id=f"m{n}", content=f"word{n} common") for n in range(20)])
        (first,) = await store.get(["m0"])
        await store.update(first.model_copy(update={"content": "replaced"}))
        await store.delete(["m1"])
        await store.vacuum()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_vectors_are_stored_as_given_and_searched_by_direction(tmp_path: Path) -> None:
    async with SqliteMemoryStore(tmp_path / "m.db") as store:
        big = np.array([3.0, 4.0], dtype=np.float32)
        await store.add([Memory(id="a", content="a", embedding=big)], model=MODEL)
        (got,) = await store.get(["a"])
        assert got.embedding is not None
        assert list(got.embedding) == [3.0, 4.0]
        (hit,) = await store.vector_search("default", np.array([6.0, 8.0]), 1)
        assert hit.score == pytest.approx(1.0)


async def test_no_sqlite_call_blocks_the_event_loop(isolated_env: Path) -> None:
    with blockbuster_ctx("fluent_ai"):
        async with SqliteMemoryStore() as store:
            await store.add([Memory(id="a", content="calm", embedding=vector_for(1))], model=MODEL)
            assert [h.id for h in await store.vector_search("default", vector_for(1))] == ["a"]
            assert [h.id for h in await store.text_search("default", "calm")] == ["a"]
            await store.vacuum()
