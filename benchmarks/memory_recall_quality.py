"""Recall quality with the embedded embedder: precision at 1 on a labelled set.

30 memories, 30 questions that paraphrase one memory each (``data/recall_labelled.json``).
Each configuration stores the memories with random importances (seeded) and asks every
question three times, so access counts and recency change between rounds the way they do
in use. Reported: precision at 1 per round, for vector search alone, text search alone,
and the full recall at several RRF constants.

Run: .venv/bin/python benchmarks/memory_recall_quality.py
"""

from __future__ import annotations

import asyncio
import json
import platform
import random
import sys
import tempfile
from pathlib import Path

from fluent_ai.memory.manager import MemoryManager
from fluent_ai.memory.scoring import RecallWeights
from fluent_ai.memory.stores.sqlite import SqliteMemoryStore

DATA = Path(__file__).with_name("data") / "recall_labelled.json"
ROUNDS = 3


async def run(rrf_k: int, memories: list[str], queries: list[dict[str, object]]) -> list[float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as home:
        store = SqliteMemoryStore(Path(home) / "memory.db")
        async with MemoryManager(store, "local", weights=RecallWeights(rrf_k=rrf_k)) as memory:
            drafts = [memory.draft(text, importance=rng.uniform(0.1, 1.0)) for text in memories]
            ids = [m.id for m in await memory.remember_many(drafts)]
            results = []
            for _ in range(ROUNDS):
                right = 0
                for item in queries:
                    hits = await memory.recall(str(item["query"]), 5)
                    right += bool(hits) and hits[0].memory.id == ids[int(str(item["answer"]))]
                results.append(right / len(queries))
            return results


async def single_retrievers(memories: list[str], queries: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as home:
        async with MemoryManager(SqliteMemoryStore(Path(home) / "m.db"), "local") as memory:
            ids = [m.id for m in await memory.remember_many(memories)]
            vector_right = text_right = 0
            for item in queries:
                want = ids[int(str(item["answer"]))]
                [vector] = await memory.embedder.embed([str(item["query"])])
                by_vector = await memory.store.vector_search("default", vector, 1)
                by_text = await memory.store.text_search("default", str(item["query"]), 1)
                vector_right += bool(by_vector) and by_vector[0].id == want
                text_right += bool(by_text) and by_text[0].id == want
            count = len(queries)
            print(f"| vector search alone | {vector_right / count:.3f} | | |")
            print(f"| text search alone (BM25) | {text_right / count:.3f} | | |")


async def main() -> None:
    data = json.loads(DATA.read_text())
    memories, queries = data["memories"], data["queries"]
    print(f"machine: {platform.machine()}, {platform.python_version()}, {sys.platform}")
    print(f"command: .venv/bin/python benchmarks/{Path(__file__).name}\n")
    print("| configuration | p@1 round 1 | round 2 | round 3 |")
    print("|---|---:|---:|---:|")
    await single_retrievers(memories, queries)
    for rrf_k in (1, 3, 10, 60):
        rounds = await run(rrf_k, memories, queries)
        label = f"recall, RRF k={rrf_k}" + (" (default)" if rrf_k == 3 else "")
        print(f"| {label} | " + " | ".join(f"{r:.3f}" for r in rounds) + " |")


if __name__ == "__main__":
    asyncio.run(main())
