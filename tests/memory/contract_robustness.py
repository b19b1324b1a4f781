"""Contract cases about robustness: other processes, a killed writer, bad input.

Mixed into :class:`tests.memory.contract.MemoryStoreContract`, which provides the
``store`` and ``store_factory`` fixtures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from fluent_ai.memory import (
    InvalidMemoryError,
    Memory,
    MemoryFilter,
    MemoryStore,
    StoreClosedError,
)
from fluent_ai.memory.types import MAX_CONTENT_CHARS
from tests.memory.contract_processes import (
    MODEL,
    StoreFactory,
    killed_writer,
    vector_for,
    writer,
)

_SPAWN = multiprocessing.get_context("spawn")


async def _join(process: Any) -> None:
    """Wait (60 s at most) for a child without blocking the event loop; kill it if it hangs."""
    await asyncio.to_thread(process.join, 60)
    if process.is_alive():
        process.kill()
        await asyncio.to_thread(process.join, 5)
        pytest.fail("a child process hung")


class RobustnessContract:
    async def test_changes_from_another_instance_are_seen(
        self, store: MemoryStore, store_factory: StoreFactory
    ) -> None:
        await store.add([Memory(id="a", content="first", embedding=vector_for(1))], model=MODEL)
        assert [h.id for h in await store.vector_search("default", vector_for(2), 5)] == ["a"]
        async with store_factory() as other:
            await other.add(
                [Memory(id="b", content="second", embedding=vector_for(2))], model=MODEL
            )
            await other.delete(["a"])
        assert [h.id for h in await store.vector_search("default", vector_for(2), 5)] == ["b"]
        assert [h.id for h in await store.text_search("default", "second")] == ["b"]

    async def test_concurrent_writers_from_several_processes(
        self, store: MemoryStore, store_factory: StoreFactory
    ) -> None:
        workers, count = 3, 150
        children = [
            _SPAWN.Process(target=writer, args=(store_factory, w, count, 25))
            for w in range(workers)
        ]
        for child in children:
            child.start()
        for child in children:
            await _join(child)
        assert [child.exitcode for child in children] == [0] * workers
        assert await store.count("default") == workers * count
        for w in range(workers):
            assert await store.count("default", MemoryFilter(metadata={"worker": w})) == count
            hits = await store.vector_search("default", vector_for(w * 100_000 + 7), 1)
            assert hits[0].id == f"w{w}-7"
            assert [h.id for h in await store.text_search("default", f"worker{w} item9", 1)] == [
                f"w{w}-9"
            ]

    async def test_sigkill_in_the_middle_of_a_batch(self, store_factory: StoreFactory) -> None:
        base, big = 50, 20_000
        ready = _SPAWN.Event()
        child = _SPAWN.Process(target=killed_writer, args=(store_factory, base, big, ready))
        child.start()
        try:
            assert await asyncio.to_thread(ready.wait, 60), "the writer never got ready"
            await asyncio.sleep(0.15)
            os.kill(child.pid or 0, signal.SIGKILL)
        finally:
            await _join(child)
        async with store_factory() as reopened:
            total = await reopened.count("default")
            assert total in (base, base + big)
            if total == base:
                assert await reopened.get(["big-0", f"big-{big - 1}"]) == []
            assert [h.id for h in await reopened.vector_search("default", vector_for(3), 1)] == [
                "base-3"
            ]
            text_ids = {h.id for h in await reopened.text_search("default", "item7", 10_000)}
            assert "base-7" in text_ids
            assert ("big-7" in text_ids) == (total > base)
            await reopened.add([Memory(id="after", content="after the crash")], model=MODEL)
            assert await reopened.count("default") == total + 1

    async def test_memory_records_refuse_bad_values(self) -> None:
        bad: list[dict[str, Any]] = [
            {"content": ""},
            {"content": "   "},
            {"content": "nul \x00 inside"},
            {"content": "x", "metadata": {"deep": ["nul \x00"]}},
            {"content": "x" * (MAX_CONTENT_CHARS + 1)},
            {"content": "x", "importance": 1.5},
            {"content": "x", "importance": float("nan")},
            {"content": "x", "kind": "dream"},
            {"content": "x", "created_at": datetime(2025, 1, 1)},
            {"content": "x", "access_count": -1},
            {"content": "x", "metadata": {"blob": object()}},
            {"content": "x", "metadata": {"big": "y" * 70_000}},
            {"content": "x", "embedding": [0.0, 0.0]},
            {"content": "x", "embedding": [1.0, float("inf")]},
            {"content": "x", "embedding": [[1.0], [2.0]]},
            {"content": "x", "embedding": "1,2,3"},
            {"content": "x", "id": "bad id with spaces"},
            {"content": "x", "namespace": ""},
            {"content": 42},
            {"content": "x", "unknown_field": 1},
        ]
        for fields in bad:
            with pytest.raises(ValidationError):
                Memory(**fields)
        with pytest.raises(ValidationError):
            MemoryFilter(kinds=frozenset())
        with pytest.raises(ValidationError):
            MemoryFilter(metadata={'we"ird': 1})

    async def test_store_calls_refuse_bad_arguments(self, store: MemoryStore) -> None:
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: store.add("not a list"),  # type: ignore[arg-type]
            lambda: store.add([{"content": "a dict"}]),  # type: ignore[list-item]
            lambda: store.add([Memory(content="x", embedding=[1.0, 2.0])]),
            lambda: store.add([Memory(content="x", embedding=[1.0, 2.0])], model=""),
            lambda: store.get("m1"),
            lambda: store.get([1, 2]),  # type: ignore[list-item]
            lambda: store.vector_search("default", np.ones(4, dtype=np.float32), k=0),
            lambda: store.vector_search("default", np.ones(4, dtype=np.float32), k=True),
            lambda: store.vector_search("default", np.array([np.nan, 1.0], dtype=np.float32)),
            lambda: store.vector_search("default", np.zeros(4, dtype=np.float32)),
            lambda: store.vector_search("default", "text"),  # type: ignore[arg-type]
            lambda: store.vector_search("bad namespace!", np.ones(4, dtype=np.float32)),
            lambda: store.text_search("default", 42),  # type: ignore[arg-type]
            lambda: store.text_search("default", "x" * 20_000),
            lambda: store.text_search("default", "x", filter={"kinds": []}),  # type: ignore[arg-type]
            lambda: store.list("default", limit=0),
            lambda: store.list("default", offset=-1),
            lambda: store.touch(["m1"], datetime(2025, 1, 1)),
            lambda: store.put_embeddings(MODEL, {"k": np.array([np.inf])}),
            lambda: store.put_embeddings(MODEL, [("k", np.ones(3))]),  # type: ignore[arg-type]
            lambda: store.get_embeddings("", ["k"]),
            lambda: store.relate("m1->m2"),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(InvalidMemoryError):
                await call()

    async def test_a_closed_store_says_so(self, store_factory: StoreFactory) -> None:
        store = store_factory()
        with pytest.raises(StoreClosedError):
            await store.count("default")
        await store.open()
        await store.open()
        await store.close()
        await store.close()
        with pytest.raises(StoreClosedError):
            await store.add([Memory(content="late")])
        async with store_factory() as reopened:
            assert await reopened.count("default") == 0
