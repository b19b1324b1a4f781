"""Child-process bodies for the contract suite (top-level so ``spawn`` can pickle them).

Each child opens its own store from a picklable factory, as a separate program would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from multiprocessing.synchronize import Event

import numpy as np

from fluent_ai.memory import Memory, MemoryStore
from fluent_ai.memory.types import Vector

StoreFactory = Callable[[], MemoryStore]
DIMS = 16
MODEL = "test-embedder"


def vector_for(seed: int) -> Vector:
    """A deterministic unit-ish vector per seed, distinct enough to find itself first."""
    return np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)


def writer(factory: StoreFactory, worker: int, count: int, batch: int) -> None:
    """Add ``count`` memories in batches, each with a vector and a unique word."""

    async def run() -> None:
        async with factory() as store:
            for start in range(0, count, batch):
                await store.add(
                    [
                        Memory(
                            id=f"w{worker}-{n}",
                            content=f"worker{worker} item{n} shared",
                            metadata={"worker": worker},
                            embedding=vector_for(worker * 100_000 + n),
                        )
                        for n in range(start, min(count, start + batch))
                    ],
                    model=MODEL,
                )

    asyncio.run(run())


def killed_writer(factory: StoreFactory, base: int, big: int, ready: Event) -> None:
    """Commit ``base`` memories, signal, then add ``big`` more in one batch (to be killed)."""

    async def run() -> None:
        async with factory() as store:
            await store.add(
                [
                    Memory(id=f"base-{n}", content=f"base item{n}", embedding=vector_for(n))
                    for n in range(base)
                ],
                model=MODEL,
            )
            batch = [
                Memory(
                    id=f"big-{n}",
                    content=f"big item{n} " + "padding " * 20,
                    embedding=vector_for(1_000_000 + n),
                )
                for n in range(big)
            ]
            ready.set()
            await store.add(batch, model=MODEL)

    asyncio.run(run())
